"""Configuration from the environment: Fabric's names, upstream's names, TLS on by default, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.chaincode.config import DEFAULT_ADDRESS, ChaincodeConfig, ConfigError
from tests.chaincode.harness import TlsMaterial


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return TlsMaterial.generate().write(tmp_path_factory.mktemp("tls"))


def test_fabric_names_configure_the_server(tls_files: dict[str, Path]) -> None:
    config = ChaincodeConfig.from_env({
        "CHAINCODE_ID": "mycc_1.0:abc", "CHAINCODE_SERVER_ADDRESS": "0.0.0.0:9999",
        "CHAINCODE_TLS_KEY_FILE": str(tls_files["server_key"]),
        "CHAINCODE_TLS_CERT_FILE": str(tls_files["server_cert"]),
        "CHAINCODE_TLS_CLIENT_CACERT_FILE": str(tls_files["ca"]), "LOG_LEVEL": "debug",
    })
    assert (config.ccid, config.address, config.log_level) == ("mycc_1.0:abc", "0.0.0.0:9999", "DEBUG")
    assert config.tls is not None
    assert config.tls.key == tls_files["server_key"].read_bytes()
    assert config.tls.client_ca == tls_files["ca"].read_bytes()


def test_upstream_names_of_existing_hlf_k8s_deployments_are_accepted(tls_files: dict[str, Path]) -> None:
    config = ChaincodeConfig.from_env({
        "CHAINCODE_CCID": "mycc:123", "CHAINCODE_ADDRESS": "0.0.0.0:7052", "TLS_KEY_FILE": str(tls_files["server_key"]),
        "TLS_CERT_FILE": str(tls_files["server_cert"]), "TLS_ROOTCERT_FILE": str(tls_files["ca"]),
    })
    assert (config.ccid, config.address) == ("mycc:123", "0.0.0.0:7052")
    assert config.tls is not None and config.tls.client_ca is not None


def test_fabric_names_win_over_upstream_names() -> None:
    config = ChaincodeConfig.from_env({"CHAINCODE_ID": "fabric:1", "CHAINCODE_CCID": "upstream:2",
                                       "CHAINCODE_TLS_DISABLED": "true"})
    assert config.ccid == "fabric:1"


def test_plaintext_only_on_an_explicit_setting_and_the_address_defaults_to_port_7052() -> None:
    config = ChaincodeConfig.from_env({"CHAINCODE_ID": "mycc:1", "CHAINCODE_TLS_DISABLED": "true"})
    assert config.tls is None
    assert config.address == DEFAULT_ADDRESS == "0.0.0.0:7052"


def test_tls_is_on_by_default_and_needs_its_key_pair() -> None:
    with pytest.raises(ConfigError, match="TLS is on: set CHAINCODE_TLS_KEY_FILE and CHAINCODE_TLS_CERT_FILE"):
        ChaincodeConfig.from_env({"CHAINCODE_ID": "mycc:1"})


def test_without_a_client_ca_the_server_serves_tls_without_client_authentication(tls_files: dict[str, Path]
                                                                                  ) -> None:
    config = ChaincodeConfig.from_env({"CHAINCODE_ID": "mycc:1", "CHAINCODE_TLS_KEY_FILE": str(tls_files["server_key"]),
                                       "CHAINCODE_TLS_CERT_FILE": str(tls_files["server_cert"])})
    assert config.tls is not None and config.tls.client_ca is None


@pytest.mark.parametrize(("env", "message"), [
    ({}, "CHAINCODE_ID \\(or CHAINCODE_CCID\\) must be set"),
    ({"CHAINCODE_ID": "  "}, "CHAINCODE_ID \\(or CHAINCODE_CCID\\) must be set"),
    ({"CHAINCODE_ID": "c:1", "CHAINCODE_TLS_DISABLED": "maybe"}, "CHAINCODE_TLS_DISABLED must be true or false"),
    ({"CHAINCODE_ID": "c:1", "CHAINCODE_TLS_DISABLED": "1", "CHAINCODE_SERVER_ADDRESS": "7052"}, "HOST:PORT"),
    ({"CHAINCODE_ID": "c:1", "CHAINCODE_TLS_DISABLED": "1", "LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of"),
    ({"CHAINCODE_ID": "c:1", "TLS_KEY_FILE": "/nonexistent/key", "TLS_CERT_FILE": "/nonexistent/cert"},
     "cannot read the TLS key /nonexistent/key"),
])
def test_an_environment_that_cannot_start_is_refused_with_its_reason(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ChaincodeConfig.from_env(env)


def test_a_tls_file_that_is_not_pem_is_refused(tmp_path: Path, tls_files: dict[str, Path]) -> None:
    (tmp_path / "key").write_text("not a key")
    with pytest.raises(ConfigError, match="is not PEM"):
        ChaincodeConfig.from_env({"CHAINCODE_ID": "c:1", "CHAINCODE_TLS_KEY_FILE": str(tmp_path / "key"),
                                  "CHAINCODE_TLS_CERT_FILE": str(tls_files["server_cert"])})
