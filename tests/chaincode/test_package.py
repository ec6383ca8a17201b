"""The ccaas package: what ``peer lifecycle chaincode install`` reads, reproducible, and refused when inconsistent."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from orchestrator.chaincode.__main__ import main
from orchestrator.chaincode.package import Connection, PackageError, build_package, package_id
from tests.chaincode.harness import TlsMaterial


def _entries(data: bytes) -> dict[str, bytes]:
    """Read a package the way Fabric's ParseChaincodePackage does: regular files of a tar.gz."""
    entries = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            assert member.isreg(), f"{member.name} is not a regular file"
            extracted = tar.extractfile(member)
            assert extracted is not None
            entries[member.name] = extracted.read()
    return entries


def _connection(data: bytes) -> dict[str, object]:
    code = _entries(_entries(data)["code.tar.gz"])
    assert list(code) == ["connection.json"]
    return json.loads(code["connection.json"])  # type: ignore[no-any-return]


def test_the_package_holds_ccaas_metadata_and_the_connection_the_peer_dials() -> None:
    data = build_package("mycc_1.0", Connection("mycc-chaincode.org1:7052"))
    entries = _entries(data)
    assert sorted(entries) == ["code.tar.gz", "metadata.json"]
    assert json.loads(entries["metadata.json"]) == {"type": "ccaas", "label": "mycc_1.0"}
    assert _connection(data) == {"address": "mycc-chaincode.org1:7052", "dial_timeout": "10s", "tls_required": False}


def test_mutual_tls_settings_are_inlined_as_pem() -> None:
    material = TlsMaterial.generate()
    data = build_package("mycc_1.0", Connection(
        "cc:7052", dial_timeout="20s", tls_required=True, client_auth_required=True,
        root_cert=material.ca_pem.decode(), client_key=material.client_key.decode(),
        client_cert=material.client_cert.decode()))
    assert _connection(data) == {
        "address": "cc:7052", "dial_timeout": "20s", "tls_required": True, "client_auth_required": True,
        "root_cert": material.ca_pem.decode(), "client_key": material.client_key.decode(),
        "client_cert": material.client_cert.decode(),
    }


def test_the_same_settings_give_the_same_bytes_and_package_id() -> None:
    first = build_package("mycc_1.0", Connection("cc:7052"))
    assert build_package("mycc_1.0", Connection("cc:7052")) == first
    assert package_id("mycc_1.0", first) == f"mycc_1.0:{hashlib.sha256(first).hexdigest()}"
    assert build_package("mycc_1.1", Connection("cc:7052")) != first


@pytest.mark.parametrize(("label", "connection", "message"), [
    ("_mycc", Connection("cc:7052"), "invalid label"),
    ("my cc", Connection("cc:7052"), "invalid label"),
    ("mycc", Connection("cc"), "--address must be HOST:PORT"),
    ("mycc", Connection("cc:99999"), "--address must be HOST:PORT"),
    ("mycc", Connection("cc:7052", dial_timeout="ten"), "--dial-timeout"),
    ("mycc", Connection("cc:7052", tls_required=True), "--tls-required needs --root-cert"),
    ("mycc", Connection("cc:7052", client_auth_required=True), "--client-auth-required needs --tls-required"),
    ("mycc", Connection("cc:7052", tls_required=True, root_cert="ca", client_auth_required=True),
     "--client-auth-required needs --client-key and --client-cert"),
    ("mycc", Connection("cc:7052", client_key="key"), "--client-key and --client-cert go together"),
])
def test_inconsistent_settings_are_refused(label: str, connection: Connection, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        build_package(label, connection)


def test_the_package_command_writes_the_file_and_prints_its_package_id(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    material = TlsMaterial.generate()
    paths = material.write(tmp_path / "tls")
    output = tmp_path / "mycc.tar.gz"
    assert main(["package", "--address", "cc:7052", "--label", "mycc_1.0", "-o", str(output), "--tls-required",
                 "--client-auth-required", "--root-cert", str(paths["ca"]), "--client-key", str(paths["client_key"]),
                 "--client-cert", str(paths["client_cert"]), "--dial-timeout", "5s"]) == 0
    data = output.read_bytes()
    assert capsys.readouterr().out.strip() == f"wrote {output} (package id {package_id('mycc_1.0', data)})"
    assert _connection(data)["client_cert"] == material.client_cert.decode()


def test_the_package_command_reports_a_refusal_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    assert main(["package", "--address", "cc:7052", "--label", "mycc", "-o", str(tmp_path / "x.tar.gz"),
                 "--tls-required"]) == 2
    assert "--tls-required needs --root-cert" in capsys.readouterr().err
    assert not (tmp_path / "x.tar.gz").exists()


def test_the_console_script_packages_too(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("orchestrator-chaincode")
    done = subprocess.run([str(script), "package", "--address", "cc:7052", "--label", "mycc_1.0", "-o",
                           str(tmp_path / "p.tar.gz")], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "p.tar.gz").read_bytes() == build_package("mycc_1.0", Connection("cc:7052"))
