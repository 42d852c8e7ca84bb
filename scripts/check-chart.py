"""Checks the Helm chart offline: `helm lint --strict`, renders it with
representative values, and validates every manifest against the Kubernetes
1.30 schemas. Run by `make lint` inside the project's virtualenv."""

import pathlib
import subprocess
import sys
import tempfile

import helm_python

CHART = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "helm" / "paymesh"
KUBE = "1.30.0"
KEK = "kek-2026:" + "A" * 43 + "="
CRYPTO = {"keks": KEK, "merchantTokenSecret": "B" * 44, "fingerprintKey": "C" * 44, "serviceSecret": "D" * 44}
BASE = {"database": {"url": "postgres://paymesh:secret@postgres:5432/paymesh"}, "crypto": CRYPTO}
CASES = {
    "defaults": BASE,
    "existing secrets, ingress, tracing": {
        "database": {"existingSecret": "paymesh-db"},
        "crypto": {"existingSecret": "paymesh-crypto"},
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"hosts": ["api.paymesh.example"], "secretName": "tls"}]},
        "config": {"otlpEndpoint": "http://otel-collector:4317"},
    },
    "gateway only": {
        **BASE,
        "services": {
            "identity": {"enabled": False, "replicas": 1, "port": 50051, "protocol": "grpc"},
            "methods": {"enabled": False, "replicas": 1, "port": 50052, "protocol": "grpc"},
            "intents": {"enabled": False, "replicas": 1, "port": 50053, "protocol": "grpc"},
            "payments": {"enabled": False, "replicas": 1, "port": 50054, "protocol": "grpc"},
        },
    },
}

# The key material each service must get, and must not.
SECRETS = {
    "identity": ({"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_SERVICE_SECRET"}, {"PAYMESH_FINGERPRINT_KEY"}),
    "methods": ({"PAYMESH_KEKS", "PAYMESH_FINGERPRINT_KEY", "PAYMESH_SERVICE_SECRET"}, {"PAYMESH_MERCHANT_TOKEN_SECRET"}),
    "intents": ({"PAYMESH_SERVICE_SECRET"}, {"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_FINGERPRINT_KEY"}),
    "payments": ({"PAYMESH_SERVICE_SECRET"}, {"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_FINGERPRINT_KEY"}),
    "gateway": (set(), {"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_FINGERPRINT_KEY", "PAYMESH_SERVICE_SECRET"}),
}


def fail(message: str) -> None:
    print(f"chart: {message}", file=sys.stderr)
    sys.exit(1)


def check_secrets(manifests: dict) -> None:
    """Each Deployment gets the key material its service needs, no more."""
    deployments = "\n".join(text for path, text in manifests.items() if path.endswith("deployment.yaml"))
    for document in deployments.split("\n---"):
        component = next((line.split(":", 1)[1].strip() for line in document.splitlines()
                          if line.strip().startswith("app.kubernetes.io/component:")), None)
        if component not in SECRETS:
            continue
        present = {v for v in SECRETS["gateway"][1] | SECRETS["identity"][0] | SECRETS["methods"][0]
                   if f"name: {v}\n" in document}
        wanted, unwanted = SECRETS[component]
        if not wanted <= present or present & unwanted:
            fail(f"{component} gets {sorted(present)}; it needs {sorted(wanted)} and none of {sorted(unwanted)}")
        print(f"chart: {component} gets {', '.join(sorted(present)) or 'no key material'}")


def main() -> None:
    report = helm_python.lint(CHART, BASE, strict=True, kube_version=f"v{KUBE}")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]
    if problems:
        fail(f"helm lint: {problems}")

    chart = helm_python.Chart.load(CHART)
    for name, values in CASES.items():
        rendered = chart.render(values, name="paymesh", namespace="payments", is_install=True)
        manifests = {path: text for path, text in rendered.items() if path.endswith(".yaml") and text.strip()}
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for path, text in manifests.items():
                file = pathlib.Path(tmp) / path.replace("/", "_")
                file.write_text(text)
                files.append(str(file))
            result = subprocess.run(
                [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", KUBE, *files],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                fail(f"{name}: {result.stdout}{result.stderr}")
        if name == "defaults":
            check_secrets(manifests)
        kinds = sorted({line.split(":", 1)[1].strip() for text in manifests.values() for line in text.splitlines() if line.startswith("kind:")})
        print(f"chart: {name}: {len(manifests)} templates valid ({', '.join(kinds)})")

    for missing, values, message in [
        ("database", {"crypto": CRYPTO}, "set database.url"),
        ("key-encryption keys", {"database": BASE["database"]}, "set crypto.keks"),
        ("merchant token secret", {**BASE, "crypto": {**CRYPTO, "merchantTokenSecret": ""}}, "set crypto.merchantTokenSecret"),
        ("fingerprint key", {**BASE, "crypto": {**CRYPTO, "fingerprintKey": ""}}, "set crypto.fingerprintKey"),
        ("service secret", {**BASE, "crypto": {**CRYPTO, "serviceSecret": ""}}, "set crypto.serviceSecret"),
    ]:
        try:
            chart.render(values, name="paymesh", namespace="payments", is_install=True)
        except helm_python.HelmRenderError as error:
            if message not in str(error):
                fail(f"a missing {missing} gives an unclear error: {error}")
        else:
            fail(f"rendering without a {missing} should fail")
        print(f"chart: a missing {missing} is refused with a clear message")


if __name__ == "__main__":
    main()
