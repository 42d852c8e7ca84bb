"""Checks the Helm chart offline: `helm lint --strict` in both modes, renders
it with representative values, validates every manifest against the
Kubernetes 1.30 schemas, and checks what each mode runs: one Deployment per
service (distributed, optionally autoscaled) or one running `paymesh all`
(single), each pod with the key material its services need and no more.
Run by `make lint` inside the project's virtualenv."""

import copy
import pathlib
import re
import subprocess
import sys
import tempfile

import helm_python
import yaml

CHART = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "helm" / "paymesh"
KUBE = "1.30.0"
KEK = "kek-2026:" + "A" * 43 + "="
CRYPTO = {"keks": KEK, "merchantTokenSecret": "B" * 44, "fingerprintKey": "C" * 44, "serviceSecret": "D" * 44}
BASE = {"database": {"url": "postgres://paymesh:secret@postgres:5432/paymesh"}, "crypto": CRYPTO}
SINGLE = {**BASE, "mode": "single"}
# The variable each key of `crypto` reaches a pod as.
KEY_VARIABLES = {
    "keks": "PAYMESH_KEKS",
    "merchantTokenSecret": "PAYMESH_MERCHANT_TOKEN_SECRET",
    "fingerprintKey": "PAYMESH_FINGERPRINT_KEY",
    "serviceSecret": "PAYMESH_SERVICE_SECRET",
}
# A service the mesh does not have yet, added by its values entry alone (and
# no more of one than the schema requires, plus what it needs): the chart
# must run it without a template knowing its name.
BILLING = {
    "enabled": True, "replicas": 2, "port": 50055, "protocol": "grpc", "database": True,
    "secrets": ["serviceSecret"], "env": {"PAYMESH_BILLING_REMINDER_DAYS": "3"},
}
AUTOSCALED = {name: {"autoscaling": {"enabled": True}} for name in ("identity", "methods", "intents", "payments", "gateway")}
DISABLED = {name: {"enabled": False} for name in ("identity", "methods", "intents", "payments")}

# The key material each service must get, and must not.
SECRETS = {
    "identity": ({"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_SERVICE_SECRET"}, {"PAYMESH_FINGERPRINT_KEY"}),
    "methods": ({"PAYMESH_KEKS", "PAYMESH_FINGERPRINT_KEY", "PAYMESH_SERVICE_SECRET"}, {"PAYMESH_MERCHANT_TOKEN_SECRET"}),
    "intents": ({"PAYMESH_SERVICE_SECRET"}, {"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_FINGERPRINT_KEY"}),
    "payments": ({"PAYMESH_SERVICE_SECRET"}, {"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_FINGERPRINT_KEY"}),
    "gateway": ({"PAYMESH_SERVICE_SECRET"}, {"PAYMESH_KEKS", "PAYMESH_MERCHANT_TOKEN_SECRET", "PAYMESH_FINGERPRINT_KEY"}),
}


def fail(message: str) -> None:
    print(f"chart: {message}", file=sys.stderr)
    sys.exit(1)


# === What was rendered ===


def merged(values: dict) -> dict:
    """The chart's values.yaml with `values` over it, as Helm merges them."""

    def merge(base: dict, over: dict) -> dict:
        for key, value in over.items():
            base[key] = merge(base.get(key) or {}, value) if isinstance(value, dict) else value
        return base

    return merge(yaml.safe_load((CHART / "values.yaml").read_text()), copy.deepcopy(values))


def enabled_services(values: dict) -> dict:
    return {name: service for name, service in merged(values)["services"].items() if service["enabled"]}


def of_kind(objects: list, kind: str) -> list:
    return [o for o in objects if o["kind"] == kind]


def component(obj: dict) -> str:
    return obj["metadata"]["labels"].get("app.kubernetes.io/component", "")


def container(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def env_names(deployment: dict) -> set:
    return {variable["name"] for variable in container(deployment).get("env", [])}


def key_material(deployment: dict) -> set:
    return env_names(deployment) & set(KEY_VARIABLES.values())


def config_data(objects: list) -> dict:
    return of_kind(objects, "ConfigMap")[0]["data"]


# === Checks of one rendering ===


def check_numbers(objects: list, values: dict) -> None:
    """Numbers reach the services as integers (Helm reads them as floats)."""
    for key, value in config_data(objects).items():
        if re.fullmatch(r"[0-9.]+e[+-]?[0-9]+", value):
            fail(f"the ConfigMap gives {key}={value}; the services read integers")


def check_distributed(objects: list, values: dict) -> None:
    """One Deployment and Service per enabled service, running it alone."""
    services = enabled_services(values)
    deployments = {component(d): d for d in of_kind(objects, "Deployment")}
    if set(deployments) != set(services):
        fail(f"distributed mode runs Deployments {sorted(deployments)}; the enabled services are {sorted(services)}")
    ports = {component(s): {p["port"] for p in s["spec"]["ports"]} for s in of_kind(objects, "Service")}
    urls = config_data(objects)
    for name, service in services.items():
        deployment = deployments[name]
        if container(deployment).get("args") != [name]:
            fail(f"the {name} Deployment runs {container(deployment).get('args')}, not [{name!r}]")
        if ports.get(name) != {service["port"]}:
            fail(f"the {name} Service exposes {sorted(ports.get(name, []))}, not {service['port']}")
        wanted = {f"PAYMESH_{name.upper()}_ADDR", *service.get("env", {})} | ({"DATABASE_URL"} if service.get("database") else set())
        if not wanted <= env_names(deployment):
            fail(f"the {name} Deployment lacks {sorted(wanted - env_names(deployment))}")
        url = f"http://{deployment['metadata']['name']}:{service['port']}"
        if urls.get(f"PAYMESH_{name.upper()}_URL") != url:
            fail(f"the others reach {name} at {urls.get(f'PAYMESH_{name.upper()}_URL')}, not {url}")


def check_secrets(objects: list, values: dict) -> None:
    """Each Deployment gets the key material its service lists, no more."""
    services = enabled_services(values)
    for deployment in of_kind(objects, "Deployment"):
        name = component(deployment)
        listed = {KEY_VARIABLES[k] for k in services[name].get("secrets", [])}
        wanted, unwanted = SECRETS.get(name, (listed, set(KEY_VARIABLES.values()) - listed))
        present = key_material(deployment)
        if not wanted <= present or present & unwanted:
            fail(f"{name} gets {sorted(present)}; it needs {sorted(wanted)} and none of {sorted(unwanted)}")
        print(f"chart: {name} gets {', '.join(sorted(present)) or 'no key material'}")


def check_autoscaled(objects: list, values: dict) -> None:
    """An autoscaled Deployment has a HorizontalPodAutoscaler and no replica count."""
    services = enabled_services(values)
    scalers = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")}
    for deployment in of_kind(objects, "Deployment"):
        name, target = component(deployment), deployment["metadata"]["name"]
        autoscaling = services[name].get("autoscaling", {})
        if autoscaling.get("enabled"):
            scaler = scalers.pop(target, None)
            if scaler is None:
                fail(f"{name} is autoscaled but has no HorizontalPodAutoscaler")
            if "replicas" in deployment["spec"]:
                fail(f"the autoscaled {name} Deployment still sets replicas, fighting its autoscaler")
            bounds = (scaler["spec"]["minReplicas"], scaler["spec"]["maxReplicas"])
            if bounds != (autoscaling["minReplicas"], autoscaling["maxReplicas"]):
                fail(f"the {name} autoscaler scales within {bounds}, not its values")
        elif deployment["spec"].get("replicas") != services[name]["replicas"]:
            fail(f"the {name} Deployment runs {deployment['spec'].get('replicas')} replicas, not {services[name]['replicas']}")
    if scalers:
        fail(f"autoscalers target {sorted(scalers)}, which are not autoscaled")
    print(f"chart: autoscaled: {len(of_kind(objects, 'HorizontalPodAutoscaler'))} HorizontalPodAutoscalers, no fixed replicas")


def check_single(objects: list, values: dict) -> None:
    """One Deployment runs `paymesh all` with what every enabled service needs."""
    services = enabled_services(values)
    deployments = of_kind(objects, "Deployment")
    if [component(d) for d in deployments] != ["all"]:
        fail(f"single mode runs Deployments {sorted(component(d) for d in deployments)}; it should run only `all`")
    pod = container(deployments[0])
    if pod.get("args") != ["all"]:
        fail(f"the single Deployment runs {pod.get('args')}, not ['all']")
    ports = {p["containerPort"] for p in pod["ports"]}
    exposed = [{p["port"] for p in s["spec"]["ports"]} for s in of_kind(objects, "Service")]
    wanted_ports = {s["port"] for s in services.values()}
    if not wanted_ports <= ports or exposed != [wanted_ports]:
        fail(f"single mode listens on {sorted(ports)} and exposes {exposed}; every service's port is {sorted(wanted_ports)}")
    keys = {KEY_VARIABLES[k] for s in services.values() for k in s.get("secrets", [])}
    if key_material(deployments[0]) != keys:
        fail(f"the single pod gets {sorted(key_material(deployments[0]))}; its services together need {sorted(keys)}")
    env = {f"PAYMESH_{n.upper()}_ADDR" for n in services} | {k for s in services.values() for k in s.get("env", {})}
    env |= {"DATABASE_URL"} if any(s.get("database") for s in services.values()) else set()
    if not env <= env_names(deployments[0]):
        fail(f"the single pod lacks {sorted(env - env_names(deployments[0]))}")
    urls = config_data(objects)
    for name, service in services.items():
        if urls.get(f"PAYMESH_{name.upper()}_URL") != f"http://127.0.0.1:{service['port']}":
            fail(f"in single mode {name} is reached at {urls.get(f'PAYMESH_{name.upper()}_URL')}, not on 127.0.0.1")
    budgets = of_kind(objects, "PodDisruptionBudget")
    if len(budgets) != (merged(values)["single"]["replicas"] > 1) or of_kind(objects, "HorizontalPodAutoscaler"):
        fail(f"single mode renders {len(budgets)} PodDisruptionBudgets and autoscalers; one budget at most, no autoscaler")
    print(f"chart: single: one Deployment `all`, ports {sorted(wanted_ports)}, {', '.join(sorted(keys))}")


def check_new_service(objects: list, values: dict) -> None:
    """billing, known to no template, runs from its values entry."""
    single = merged(values)["mode"] == "single"
    deployments = {component(d): d for d in of_kind(objects, "Deployment")}
    pod = deployments["all" if single else "billing"]
    if BILLING["port"] not in {p["containerPort"] for p in container(pod)["ports"]}:
        fail(f"billing's port {BILLING['port']} is not on the {component(pod)} pod")
    if not {"PAYMESH_BILLING_ADDR", "PAYMESH_BILLING_REMINDER_DAYS", "DATABASE_URL"} <= env_names(pod):
        fail(f"billing's settings are not on the {component(pod)} pod")
    print(f"chart: billing, added in values only, runs on the {component(pod)} pod at :{BILLING['port']}")


CASES = {
    "defaults": (BASE, [check_distributed, check_secrets]),
    "existing secrets, ingress, tracing": ({
        "database": {"existingSecret": "paymesh-db"},
        "crypto": {"existingSecret": "paymesh-crypto"},
        "ingress": {"enabled": True, "className": "nginx", "tls": [{"hosts": ["api.paymesh.example"], "secretName": "tls"}]},
        "config": {"otlpEndpoint": "http://otel-collector:4317"},
    }, [check_distributed]),
    "gateway only": ({**BASE, "services": DISABLED}, [check_distributed, check_secrets]),
    "autoscaled": ({**BASE, "services": AUTOSCALED}, [check_distributed, check_secrets, check_autoscaled]),
    "single": (SINGLE, [check_single]),
    "single, two replicas, ingress": (
        {**SINGLE, "single": {"replicas": 2}, "ingress": {"enabled": True}}, [check_single]),
    "billing added, distributed": ({**BASE, "services": {"billing": BILLING}}, [check_distributed, check_secrets, check_new_service]),
    "billing added, single": ({**SINGLE, "services": {"billing": BILLING}}, [check_single, check_new_service]),
}

# Values the chart must refuse, and the words its refusal must hold.
REFUSALS = [
    ("a missing database", {"crypto": CRYPTO}, "set database.url"),
    ("a missing key-encryption keys", {"database": BASE["database"]}, "set crypto.keks"),
    ("a missing merchant token secret", {**BASE, "crypto": {**CRYPTO, "merchantTokenSecret": ""}}, "set crypto.merchantTokenSecret"),
    ("a missing fingerprint key", {**BASE, "crypto": {**CRYPTO, "fingerprintKey": ""}}, "set crypto.fingerprintKey"),
    ("a missing service secret", {**BASE, "crypto": {**CRYPTO, "serviceSecret": ""}}, "set crypto.serviceSecret"),
    ("an unknown mode", {**BASE, "mode": "both"}, "distributed"),
    ("a setting two services set apart in single mode",
     {**SINGLE, "services": {"payments": {"env": {"PAYMESH_CORS_ORIGINS": "https://shop.example"}}}},
     "give both the same value"),
    ("an autoscaler without a CPU request",
     {**BASE, "services": {"payments": {"autoscaling": {"enabled": True}, "resources": {"requests": {"cpu": None}}}}},
     "set services.payments.resources.requests.cpu"),
    ("an autoscaler whose minimum is above its maximum",
     {**BASE, "services": {"payments": {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}}},
     "minReplicas (5) is above maxReplicas (2)"),
    ("a service named `all`", {**BASE, "services": {"all": {**BILLING}}}, "give the service another name"),
]


# === Running ===


def validate(name: str, manifests: dict) -> None:
    """Every manifest is valid Kubernetes 1.30, offline."""
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


def main() -> None:
    for mode, values in [("distributed", BASE), ("single", SINGLE)]:
        report = helm_python.lint(CHART, values, strict=True, kube_version=f"v{KUBE}")
        problems = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]
        if problems:
            fail(f"helm lint ({mode}): {problems}")

    chart = helm_python.Chart.load(CHART)
    for name, (values, checks) in CASES.items():
        rendered = chart.render(values, name="paymesh", namespace="payments", is_install=True)
        manifests = {path: text for path, text in rendered.items() if path.endswith(".yaml") and text.strip()}
        validate(name, manifests)
        objects = [o for text in manifests.values() for o in yaml.safe_load_all(text) if o]
        for check in [check_numbers, *checks]:
            check(objects, values)
        kinds = sorted({o["kind"] for o in objects})
        print(f"chart: {name}: {len(objects)} objects valid ({', '.join(kinds)})")

    for what, values, message in REFUSALS:
        try:
            chart.render(values, name="paymesh", namespace="payments", is_install=True)
        except (helm_python.HelmRenderError, helm_python.HelmValuesError) as error:
            if message not in str(error):
                fail(f"{what} gives an unclear error: {error}")
        else:
            fail(f"rendering with {what} should fail")
        print(f"chart: {what} is refused with a clear message")


if __name__ == "__main__":
    main()
