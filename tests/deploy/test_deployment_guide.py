"""docs/deployment.md walks from a Fabric network to a backend call, with names the chart really produces."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from tests.deploy.chart import EXAMPLES, ROOT, env, example, render_example

GUIDE = (ROOT / "docs" / "deployment.md").read_text()
ORG1 = "distributed-org-1.yaml"
PACKAGE_FLAGS = {
    "--address",
    "--label",
    "-o",
    "--tls-required",
    "--client-auth-required",
    "--root-cert",
    "--client-key",
    "--client-cert",
}


def _commands(program: str) -> list[str]:
    """Every shell command of the guide starting with ``program``, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE, flags=re.DOTALL)
    lines = re.sub(r"\\\n\s*", " ", "\n".join(blocks)).splitlines()
    return [line.strip() for line in lines if line.strip().startswith(program)]


def test_guide_goes_from_packaging_through_lifecycle_to_helm_and_a_call() -> None:
    steps = [
        "docker build",
        "orchestrator-chaincode package",
        "peer lifecycle chaincode install",
        "peer lifecycle chaincode queryinstalled",
        "peer lifecycle chaincode approveformyorg",
        "peer lifecycle chaincode checkcommitreadiness",
        "peer lifecycle chaincode commit",
        "helm install",
        "grpcurl",
    ]
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", GUIDE, flags=re.DOTALL))
    positions = [commands.find(step) for step in steps]
    assert -1 not in positions, [step for step, position in zip(steps, positions, strict=True) if position < 0]
    assert positions == sorted(positions)


def test_guide_installs_every_example() -> None:
    for name in EXAMPLES:
        assert any(f"charts/orchestrator/examples/{name}" in command for command in _commands("helm install")), name


def test_guide_packages_with_the_flags_of_the_chaincode_program() -> None:
    (command,) = _commands("orchestrator-chaincode package")
    flags = {word for word in command.split() if word.startswith("-")}
    assert flags == PACKAGE_FLAGS


def test_guide_packages_the_address_of_the_chaincode_service_the_chart_creates() -> None:
    (command,) = _commands("orchestrator-chaincode package")
    address = command.split("--address ")[1].split()[0]
    host, port = address.rsplit(":", 1)
    service, namespace = host.split(".")[:2]
    rendered = render_example(ORG1)
    assert rendered.get("Service", service)["spec"]["ports"][0]["port"] == int(port)
    assert namespace == "org-1" and host.endswith(".svc.cluster.local")


def test_guide_stores_the_package_id_where_the_example_reads_it() -> None:
    (command,) = [c for c in _commands("kubectl") if "chaincode-ccid" in c]
    secret = command.split("generic ")[1].split()[0]
    assert {"name": secret, "key": "ccid"} in [c["idSecret"] for c in example(ORG1)["chaincodes"]]
    assert "--from-literal=ccid=" in command


def test_guide_names_the_objects_the_chart_renders() -> None:
    rendered = render_example(ORG1)
    for job in rendered.of_kind("Job"):
        if (env(job)["ORCHESTRATOR_CHANNEL"], env(job)["ORCHESTRATOR_CHAINCODE"]) == ("mychannel", "mycc"):
            assert f"job/{job['metadata']['name']}" in GUIDE
    assert "svc/orchestrator-gateway" in GUIDE
    tls_secret = example(ORG1)["gateway"]["tls"]["certificate"]["secretName"]
    assert f"create secret tls {tls_secret}" in GUIDE


def test_guide_builds_every_image_from_its_dockerfile() -> None:
    for command in _commands("docker build"):
        dockerfile = command.split("-f ")[1].split()[0]
        assert (ROOT / dockerfile).is_file(), dockerfile
        assert command.endswith(" .")
    assert len(_commands("docker build")) == len(list((ROOT / "docker").glob("*/Dockerfile")))


def test_guide_calls_the_gateway_with_the_three_routing_headers() -> None:
    calls = [c for c in _commands("grpcurl") if "RegisterOrganization" in c]
    assert calls
    for call in calls:
        for header in ("mspid", "channel", "chaincode"):
            assert f"-H '{header}: " in call


def _block_with(text: str) -> str:
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", GUIDE, flags=re.DOTALL) if text in b]
    return block


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_guide_issues_a_chaincode_tls_pair_valid_for_every_chaincode_service_the_chart_creates(
        tmp_path: Path) -> None:
    """cryptogen user certificates name no host; the guide's recipe names each chaincode's Service."""
    script = "\n".join(line for line in _block_with("openssl req -x509").splitlines()
                       if not line.startswith("kubectl"))
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, check=True, capture_output=True)
    certificate = x509.load_pem_x509_certificate((tmp_path / "chaincode-tls.crt").read_bytes())
    authority = x509.load_pem_x509_certificate((tmp_path / "chaincode-ca.pem").read_bytes())
    certificate.verify_directly_issued_by(authority)
    names = set(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                .get_values_for_type(x509.DNSName))
    rendered = render_example(ORG1)
    services = [s["metadata"]["name"] for s in rendered.of_kind("Service") if "-chaincode-" in s["metadata"]["name"]]
    assert len(services) == 2
    for service in services:
        assert f"{service}.org-1.svc.cluster.local" in names
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in usage
    (secret_command,) = [c for c in _commands("kubectl") if "create secret tls orchestrator-chaincode-tls" in c]
    assert "--cert chaincode-tls.crt --key chaincode-tls.key" in secret_command
    assert "{secretName: orchestrator-chaincode-tls, key: tls.crt}" in GUIDE


def test_guide_says_fabric_3_takes_orderer_endpoints_per_organization() -> None:
    note = GUIDE[GUIDE.index("Fabric 3 channel configurations"):][:400]
    assert "per organization" in note and "OrdererEndpoints" in note and "OrdererAddresses" in note
