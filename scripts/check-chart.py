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
BASE = {"database": {"url": "postgres://paymesh:secret@postgres:5432/paymesh"}}
CASES = {
    "defaults": BASE,
    "existing secret, ingress, tracing": {
        "database": {"existingSecret": "paymesh-db"},
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"hosts": ["api.paymesh.example"], "secretName": "tls"}]},
        "config": {"otlpEndpoint": "http://otel-collector:4317"},
    },
    "gateway only": {**BASE, "services": {"identity": {"enabled": False, "replicas": 1, "port": 50051, "protocol": "grpc"}}},
}


def fail(message: str) -> None:
    print(f"chart: {message}", file=sys.stderr)
    sys.exit(1)


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
        kinds = sorted({line.split(":", 1)[1].strip() for text in manifests.values() for line in text.splitlines() if line.startswith("kind:")})
        print(f"chart: {name}: {len(manifests)} templates valid ({', '.join(kinds)})")

    try:
        chart.render({}, name="paymesh", namespace="payments", is_install=True)
    except helm_python.HelmRenderError as error:
        if "set database.url" not in str(error):
            fail(f"a missing database gives an unclear error: {error}")
    else:
        fail("rendering without a database should fail")
    print("chart: a missing database is refused with a clear message")


if __name__ == "__main__":
    main()
