"""Fabric mode configuration: the organizations section, environment overrides, connection profiles, tuning."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from orchestrator.gateway.config import ConfigError, load_config
from orchestrator.gateway.fabric.config import connection_profile_peers, duration, env_name, parse_fabric_config
from tests.fabric.network import StandInNetwork


def test_the_gateway_configuration_file_gives_identities_and_peers(network: StandInNetwork, tmp_path: Path) -> None:
    config = load_config(["--config", str(network.gateway_config(tmp_path / "gateway.yaml"))], {})
    fabric = parse_fabric_config(config.organizations, base_dir=tmp_path)
    assert sorted(fabric.organizations) == ["MyOrg1MSP", "MyOrg2MSP"]
    org1 = fabric.organizations["MyOrg1MSP"]
    assert org1.identity is not None and org1.identity.mspid == "MyOrg1MSP"
    assert [p.address for p in org1.peers] == [network.peer("MyOrg1MSP").address]
    assert org1.peers[0].tls_ca == network.pki["MyOrg1MSP"].tls_ca.cert_path.read_bytes()


def test_relative_paths_are_relative_to_the_configuration_file(network: StandInNetwork, tmp_path: Path) -> None:
    entry = network.organization_config("MyOrg1MSP")
    user = network.users["MyOrg1MSP"]
    entry["identity"] = {"certificate": user.cert_path.name, "key": user.key_path.name}
    fabric = parse_fabric_config({"MyOrg1MSP": entry}, base_dir=user.cert_path.parent)
    assert fabric.identity("MyOrg1MSP") is not None


def test_an_msp_folder_gives_the_identity(network: StandInNetwork, tmp_path: Path) -> None:
    user = network.users["MyOrg1MSP"]
    msp = tmp_path / "msp"
    (msp / "signcerts").mkdir(parents=True)
    (msp / "keystore").mkdir()
    (msp / "signcerts" / "cert.pem").write_bytes(user.cert_pem)
    (msp / "keystore" / "abc_sk").write_bytes(user.key_pem)
    entry = {"identity": {"msp_dir": str(msp)}, "peers": network.organization_config("MyOrg1MSP")["peers"]}
    assert parse_fabric_config({"MyOrg1MSP": entry}).identity("MyOrg1MSP") is not None


def test_upstream_variables_give_the_identity_of_orchestrator_mspid(network: StandInNetwork) -> None:
    user = network.users["MyOrg2MSP"]
    peers = network.organization_config("MyOrg2MSP")["peers"]
    fabric = parse_fabric_config({"MyOrg2MSP": {"peers": peers}}, environ={
        "ORCHESTRATOR_MSPID": "MyOrg2MSP", "ORCHESTRATOR_FABRIC_CERT": str(user.cert_path),
        "ORCHESTRATOR_FABRIC_KEY": str(user.key_path)})
    identity = fabric.identity("MyOrg2MSP")
    assert identity is not None and identity.identity.certificate == user.cert_pem


def test_per_organization_variables_override_the_file(network: StandInNetwork) -> None:
    entry = network.organization_config("MyOrg1MSP")
    fabric = parse_fabric_config({"MyOrg1MSP": entry}, environ={
        f"ORCHESTRATOR_FABRIC_{env_name('MyOrg1MSP')}_PEERS": "peer-a:7051, peer-b:7051",
        f"ORCHESTRATOR_FABRIC_{env_name('MyOrg1MSP')}_SERVER_NAME_OVERRIDE": "peer0.org1.example.com"})
    peers = fabric.organizations["MyOrg1MSP"].peers
    assert [p.address for p in peers] == ["peer-a:7051", "peer-b:7051"]
    assert {p.server_name_override for p in peers} == {"peer0.org1.example.com"}
    assert all(p.tls_ca == network.pki["MyOrg1MSP"].tls_ca.cert_path.read_bytes() for p in peers)  # kept


def test_a_connection_profile_gives_the_peers_of_an_organization(network: StandInNetwork, tmp_path: Path) -> None:
    pem = network.pki["MyOrg1MSP"].tls_ca.cert_path.read_text()
    profile = {
        "name": "test-network-org1", "version": "1.0.0",
        "client": {"organization": "Org1"},
        "organizations": {"Org1": {"mspid": "MyOrg1MSP", "peers": ["peer0.org1.example.com"]}},
        "peers": {"peer0.org1.example.com": {
            "url": f"grpcs://{network.peer('MyOrg1MSP').address}", "tlsCACerts": {"pem": pem},
            "grpcOptions": {"ssl-target-name-override": "peer0.org1.example.com"}}},
    }
    path = tmp_path / "connection-org1.json"
    path.write_text(json.dumps(profile))
    assert [p.address for p in connection_profile_peers(path)["MyOrg1MSP"]] == [network.peer("MyOrg1MSP").address]
    identity = network.organization_config("MyOrg1MSP")["identity"]
    fabric = parse_fabric_config({"MyOrg1MSP": {"identity": identity}},
                                 environ={"ORCHESTRATOR_NETWORK_CONFIG": str(path)})
    peer = fabric.organizations["MyOrg1MSP"].peers[0]
    assert peer.tls_ca == pem.encode() and peer.server_name_override == "peer0.org1.example.com"
    yaml_path = tmp_path / "profile.yaml"
    yaml_path.write_text(yaml.safe_dump(profile))
    fabric = parse_fabric_config({"MyOrg1MSP": {"identity": identity, "connection_profile": str(yaml_path)}})
    assert fabric.organizations["MyOrg1MSP"].peers[0].address == network.peer("MyOrg1MSP").address


def test_tuning_variables_accept_seconds_and_go_durations() -> None:
    assert duration("1.5") == 1.5 and duration("500ms") == 0.5 and duration("1m30s") == 90.0
    with pytest.raises(ValueError):
        duration("soon")


def test_malformed_entries_are_refused_with_their_place(network: StandInNetwork) -> None:
    entry = network.organization_config("MyOrg1MSP")
    entry["peers"][0]["adress"] = "typo"
    with pytest.raises(ConfigError, match=r"organizations: MyOrg1MSP: peers\[0\]: unknown keys adress"):
        parse_fabric_config({"MyOrg1MSP": entry})
    entry = network.organization_config("MyOrg1MSP")
    entry["peers"][0]["address"] = "no-port"
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        parse_fabric_config({"MyOrg1MSP": entry})
    entry = network.organization_config("MyOrg1MSP")
    entry["peers"][0]["tls_client_certificate"] = "cert.pem"
    with pytest.raises(ConfigError, match="go together"):
        parse_fabric_config({"MyOrg1MSP": entry})
    with pytest.raises(ConfigError, match="ORCHESTRATOR_FABRIC_MVCC_RETRIES"):
        parse_fabric_config({"MyOrg1MSP": network.organization_config("MyOrg1MSP")},
                            environ={"ORCHESTRATOR_FABRIC_MVCC_RETRIES": "many"})
    with pytest.raises(ConfigError, match="at least one organization with a signing identity"):
        parse_fabric_config({"MyOrg1MSP": {"peers": network.organization_config("MyOrg1MSP")["peers"]}})


def test_a_client_certificate_that_is_not_pem_is_refused_and_a_good_one_gives_its_session_hash(
        network: StandInNetwork, tmp_path: Path) -> None:
    user = network.users["MyOrg1MSP"]
    entry = network.organization_config("MyOrg1MSP")
    (tmp_path / "garbage.pem").write_bytes(b"not a certificate")
    entry["peers"][0].update(tls_client_certificate=str(tmp_path / "garbage.pem"), tls_client_key=str(user.key_path))
    with pytest.raises(ConfigError, match="tls_client_certificate is not a PEM certificate"):
        parse_fabric_config({"MyOrg1MSP": entry}, base_dir=tmp_path)
    entry["peers"][0]["tls_client_certificate"] = str(user.cert_path)
    peer = parse_fabric_config({"MyOrg1MSP": entry}, base_dir=tmp_path).organizations["MyOrg1MSP"].peers[0]
    der = x509.load_pem_x509_certificate(user.cert_pem).public_bytes(serialization.Encoding.DER)
    assert peer.tls_cert_hash == hashlib.sha256(der).digest()
    assert parse_fabric_config({"MyOrg1MSP": network.organization_config("MyOrg1MSP")},
                               base_dir=tmp_path).organizations["MyOrg1MSP"].peers[0].tls_cert_hash == b""
