"""Every example values file (and the defaults) renders, lints, and yields valid, hardened manifests."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

import orchestrator
from tests.deploy.chart import (
    CHART_DIR,
    EXAMPLES,
    KUBE_VERSION,
    NAMESPACE,
    ROOT,
    Rendered,
    chart,
    container,
    example,
    merge,
    pod_spec,
    render,
    render_example,
    volumes,
)

# Values sets exercised by every test of this module: the defaults, each example, and each
# example with every optional object turned on, so that those objects are validated too.
EVERYTHING_ON = {
    "networkPolicy": {"enabled": True, "chaincodeFrom": [{"podSelector": {"matchLabels": {"app": "hlf-peer"}}}]},
    "gateway": {
        "ingress": {"enabled": True, "hosts": [{"host": "orchestrator.example.org"}]},
        "metrics": {"serviceMonitor": {"enabled": True}},
        "podAnnotations": {"example.org/team": "orchestrator"},
        "extraEnv": [{"name": "EXTRA", "value": "1"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
    },
    "forwarder": {
        "enabled": True, "mspid": "MyOrg1MSP", "channels": ["mychannel"],
        "amqp": {"urlSecret": {"name": "rabbitmq-forwarder", "key": "url"}},
        "queues": [{"mspid": "MyOrg1MSP", "channels": ["mychannel"]}],
    },
}
CASES = {"defaults": (None, None)}
for _name in EXAMPLES:
    CASES[_name] = (_name, None)
    CASES[f"{_name}+everything"] = (_name, EVERYTHING_ON)

# Custom resources have no schema in kubernetes-validate; they are checked here by hand.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}
RECOMMENDED_LABELS = ("name", "instance", "version", "component", "part-of", "managed-by")


def _render_case(case: str) -> Rendered:
    name, override = CASES[case]
    return render() if name is None else render_example(name, override)


def _values_case(case: str) -> dict[str, Any] | None:
    name, override = CASES[case]
    if name is None:
        return None
    return merge(example(name), override or {})


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_examples_cover_two_fabric_organizations_and_embedded_mode() -> None:
    modes = sorted((example(name)["mode"], example(name).get("fabric", {}).get("mspid")) for name in EXAMPLES)
    assert modes == [("embedded", None), ("fabric", "MyOrg1MSP"), ("fabric", "MyOrg2MSP")]


def test_chart_app_version_is_the_package_version() -> None:
    assert chart().metadata["appVersion"] == orchestrator.__version__


def test_every_case_renders_objects(case: str) -> None:
    kinds = {manifest["kind"] for manifest in _render_case(case).manifests}
    assert {"Deployment", "Service", "ConfigMap", "ServiceAccount"} <= kinds


@pytest.mark.parametrize("kube_version", [KUBE_VERSION, kubernetes_validate.latest_version()])
def test_rendered_manifests_are_valid_kubernetes_objects(case: str, kube_version: str) -> None:
    for manifest in _render_case(case).manifests:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(manifest, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']}: {where}: {error.message}")


def test_service_monitors_select_the_gateway_metrics_port(case: str) -> None:
    rendered = _render_case(case)
    for monitor in rendered.of_kind("ServiceMonitor"):
        assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
        service = rendered.get("Service", monitor["metadata"]["name"])
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector.items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"


def test_chart_lints_without_warnings(case: str) -> None:
    report = helm.lint(CHART_DIR, _values_case(case), strict=True, namespace=NAMESPACE, kube_version=KUBE_VERSION)
    problems = [message for message in report["messages"] if message["severity"] >= 2]
    assert not problems and not report["errors"], problems or report["errors"]


def test_rendered_output_passes_yamllint(case: str) -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    output = _render_case(case).helm_template_output()
    problems = [f"{p.line}:{p.column} {p.message}" for p in linter.run(output, config)]
    assert not problems, "\n".join(problems)


def test_every_object_carries_the_recommended_labels(case: str) -> None:
    for manifest in _render_case(case).manifests:
        labels = manifest["metadata"]["labels"]
        for label in RECOMMENDED_LABELS:
            assert labels.get(f"app.kubernetes.io/{label}"), (manifest["kind"], manifest["metadata"]["name"], label)
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/part-of"] == "substra"
        assert labels["app.kubernetes.io/version"] == chart().metadata["appVersion"]
        assert manifest["metadata"]["namespace"] == NAMESPACE


def test_workload_pods_carry_the_labels_their_selectors_and_services_use(case: str) -> None:
    rendered = _render_case(case)
    pods = [workload["spec"]["template"]["metadata"]["labels"] for workload in rendered.workloads()]
    for pod_labels in pods:
        for label in RECOMMENDED_LABELS:
            assert f"app.kubernetes.io/{label}" in pod_labels
    controllers = rendered.of_kind("Deployment") + rendered.of_kind("StatefulSet")
    for deployment in controllers:
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        others = [d for d in controllers if d is not deployment]
        assert not any(selector.items() <= d["spec"]["template"]["metadata"]["labels"].items() for d in others)
    for service in rendered.of_kind("Service"):
        selected = [labels for labels in pods if service["spec"]["selector"].items() <= labels.items()]
        assert len(selected) == 1, service["metadata"]["name"]


def test_every_pod_runs_as_non_root_with_a_read_only_root_filesystem(case: str) -> None:
    for workload in _render_case(case).workloads():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        # Service links would add *_PORT/*_SERVICE_HOST variables next to the programs' own ORCHESTRATOR_*.
        assert spec["enableServiceLinks"] is False
        for item in spec["containers"] + spec.get("initContainers", []):
            context = item["securityContext"]
            assert context["runAsNonRoot"] is True
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["privileged"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}


def test_writable_paths_are_volumes_and_secrets_are_mounted_read_only(case: str) -> None:
    for workload in _render_case(case).workloads():
        pod_volumes = volumes(workload)
        mounts = {mount["mountPath"]: mount for mount in container(workload)["volumeMounts"]}
        assert "emptyDir" in pod_volumes[mounts["/tmp"]["name"]]
        for mount in mounts.values():
            volume = pod_volumes[mount["name"]]
            if {"projected", "secret", "configMap"} & volume.keys():
                assert mount.get("readOnly") is True, (workload["metadata"]["name"], mount)
            if "projected" in volume:
                assert volume["projected"]["defaultMode"] == 0o440


def test_every_container_has_resource_requests_and_limits(case: str) -> None:
    for workload in _render_case(case).workloads():
        resources = container(workload)["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert {"cpu", "memory"} <= resources["limits"].keys()


def test_images_default_to_the_chart_app_version(case: str) -> None:
    version = chart().metadata["appVersion"]
    for workload in _render_case(case).workloads():
        image = container(workload)["image"]
        assert image.rsplit(":", 1)[1] == version
        assert image.split("/")[-1].split(":")[0] in {
            "orchestrator-gateway",
            "orchestrator-chaincode",
            "orchestrator-chaincode-init",
            "orchestrator-forwarder",
        }


def test_notes_render_for_every_case(case: str) -> None:
    notes = _render_case(case).notes
    assert "orchestrator-gateway" in notes
    assert "{{" not in notes and "<no value>" not in notes


def test_chart_packages_with_its_readme_and_schema_but_without_the_examples(tmp_path: Path) -> None:
    archive = helm.package(CHART_DIR, destination=tmp_path)
    with tarfile.open(archive) as packaged:
        names = {Path(name).relative_to("orchestrator").as_posix() for name in packaged.getnames()}
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md", "templates/NOTES.txt"} <= names
    assert not any(name.startswith("examples") for name in names)


def test_common_labels_reach_every_object_and_pod() -> None:
    rendered = render({"commonLabels": {"team": "orchestrator"}})
    assert all(m["metadata"]["labels"]["team"] == "orchestrator" for m in rendered.manifests)
    assert all(w["spec"]["template"]["metadata"]["labels"]["team"] == "orchestrator" for w in rendered.workloads())
