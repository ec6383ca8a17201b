"""``orchestrator-chaincode`` as the pod runs it: configured by environment, serving peers, stopping on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import grpc

from orchestrator.api import organization_pb2
from orchestrator.shared import codec
from tests.chaincode.harness import ChaincodeConnection, ChaincodeProcess, HarnessPeer, TlsMaterial

REGISTER_ORG = "orchestrator.organization:RegisterOrganization"


def test_the_served_chaincode_answers_a_peer_and_stops_cleanly_on_sigterm() -> None:
    with ChaincodeProcess(env={"LOG_LEVEL": "INFO"}) as process:
        connection = ChaincodeConnection(process.address).connect()
        peer = HarnessPeer(connection)
        reply = peer.invoke("MyOrg1MSP", REGISTER_ORG, codec.encode(organization_pb2.RegisterOrganizationParam()))
        assert codec.decode_message(reply, organization_pb2.Organization).id == "MyOrg1MSP"
        status, log = process.stop(signal.SIGTERM)
        assert connection.wait_closed(30)
        connection.close()
    assert status == 0
    assert "received SIGTERM, stopping" in log
    assert "stopped" in log


def test_upstream_variable_names_and_mutual_tls_files_configure_the_served_chaincode(tmp_path: Path) -> None:
    material = TlsMaterial.generate()
    paths = material.write(tmp_path)
    with ChaincodeProcess(tls_disabled=False, env={
        "TLS_KEY_FILE": str(paths["server_key"]), "TLS_CERT_FILE": str(paths["server_cert"]),
        "TLS_ROOTCERT_FILE": str(paths["ca"]), "CHAINCODE_CCID": "ignored-when-CHAINCODE_ID-is-set",
    }) as process:
        credentials = grpc.ssl_channel_credentials(material.ca_pem, material.client_key, material.client_cert)
        with ChaincodeConnection(process.address, credentials=credentials).connect() as connection:
            assert connection.ccid.startswith("mycc_1.0:")
            assert HarnessPeer(connection).query("MyOrg1MSP", "orchestrator.info:QueryVersion") is not None
        assert process.stop()[0] == 0


def test_a_missing_package_id_stops_the_start_with_exit_status_2() -> None:
    script = Path(sys.executable).with_name("orchestrator-chaincode")
    done = subprocess.run([str(script)], env={"PATH": "/usr/bin:/bin", "CHAINCODE_TLS_DISABLED": "true"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "CHAINCODE_ID (or CHAINCODE_CCID) must be set" in done.stderr


def test_an_address_already_in_use_fails_the_start() -> None:
    with ChaincodeProcess() as first:
        second = ChaincodeProcess(port=first.port)
        _, log = second.process.communicate(timeout=60)
        status = second.process.returncode
    assert status == 1
    assert "cannot listen on" in log
