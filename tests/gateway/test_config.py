"""Configuration: flags, ORCHESTRATOR_* variables, the YAML file, and the channel configuration (issue items 1, 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.gateway.config import ChannelAccess, ConfigError, load_config
from orchestrator.gateway.invoke import ModeNotAvailableError, mode


def test_no_arguments_serve_embedded_on_loopback_9000_with_data_in_the_working_directory() -> None:
    config = load_config([], {})
    assert (config.mode, config.listen, str(config.data_dir)) == ("embedded", "127.0.0.1:9000", "orchestrator-data")
    assert config.metrics_listen is None and not config.tls and not config.mutual_tls
    assert not config.channels.restricted


def test_every_flag_has_an_environment_variable_and_flags_win() -> None:
    environ = {"ORCHESTRATOR_LISTEN": "0.0.0.0:9100", "ORCHESTRATOR_DATA_DIR": "/var/lib/orc",
               "ORCHESTRATOR_METRICS_LISTEN": "0.0.0.0:8484", "ORCHESTRATOR_LOG_FORMAT": "json",
               "ORCHESTRATOR_MAX_MESSAGE_SIZE": "8MiB", "ORCHESTRATOR_GRACE_PERIOD": "30",
               "ORCHESTRATOR_LOG_LEVEL": "debug"}
    config = load_config([], environ)
    assert (config.listen, str(config.data_dir), config.metrics_listen) == ("0.0.0.0:9100", "/var/lib/orc",
                                                                             "0.0.0.0:8484")
    assert (config.log_format, config.log_level, config.max_message_size, config.grace_period) == (
        "json", "DEBUG", 8 * 1024 * 1024, 30.0)
    assert load_config(["--listen", "127.0.0.1:1234"], environ).listen == "127.0.0.1:1234"


def test_repeatable_options_take_comma_separated_variables(tmp_path: Path) -> None:
    environ = {"ORCHESTRATOR_TLS_CERT": "s.pem", "ORCHESTRATOR_TLS_KEY": "s-key.pem",
               "ORCHESTRATOR_TLS_CLIENT_CA": "a.pem,b.pem", "ORCHESTRATOR_ORG_CA": "Org1MSP=a.pem,Org2MSP=b.pem"}
    config = load_config([], environ)
    assert config.tls_client_ca == (Path("a.pem"), Path("b.pem"))
    assert config.org_ca == (("Org1MSP", Path("a.pem")), ("Org2MSP", Path("b.pem")))
    flags = load_config(["--tls-cert", "s.pem", "--tls-key", "k.pem", "--org-ca", "Org3MSP=c.pem",
                         "--org-ca", "Org4MSP=d.pem"], {})
    assert [mspid for mspid, _ in flags.org_ca] == ["Org3MSP", "Org4MSP"]
    assert flags.mutual_tls


def test_the_yaml_file_holds_settings_channels_in_both_forms_and_fabric_organizations(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("""
listen: 127.0.0.1:9200
grace-period: 5
channels:
  mychannel: [MyOrg1MSP, MyOrg2MSP]
  yourchannel:
    organizations: [MyOrg1MSP]
    chaincodes: [yourcc, othercc]
organizations:
  MyOrg1MSP:
    identity: {cert: /certs/org1.pem, key: /certs/org1-key.pem}
    peers: [{address: "peer0:7051"}]
""")
    config = load_config(["--config", str(path)], {"ORCHESTRATOR_GRACE_PERIOD": "7"})
    assert config.listen == "127.0.0.1:9200"
    assert config.grace_period == 7.0  # the variable wins over the file
    assert config.channels.channels == {
        "mychannel": ChannelAccess(frozenset({"MyOrg1MSP", "MyOrg2MSP"})),
        "yourchannel": ChannelAccess(frozenset({"MyOrg1MSP"}), ("yourcc", "othercc")),
    }
    assert config.channels.default_chaincodes() == {"yourchannel": "yourcc"}
    assert config.organizations["MyOrg1MSP"]["peers"] == [{"address": "peer0:7051"}]
    assert load_config([], {"ORCHESTRATOR_CONFIG": str(path)}).listen == "127.0.0.1:9200"


def test_upstreams_channel_configuration_file_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text("channels:\n  mychannel:\n    - MyOrg1MSP\n")
    config = load_config([], {"ORCHESTRATOR_CHANNEL_CONFIG": str(path)})
    assert config.channels.channels == {"mychannel": ChannelAccess(frozenset({"MyOrg1MSP"}))}


@pytest.mark.parametrize(("value", "mode_name"), [("standalone", "embedded"), ("distributed", "fabric"),
                                                  ("EMBEDDED", "embedded")])
def test_upstreams_mode_names_are_understood(value: str, mode_name: str) -> None:
    assert load_config([], {"ORCHESTRATOR_MODE": value}).mode == mode_name


@pytest.mark.parametrize(("argv", "message"), [
    (["--tls-cert", "s.pem"], "--tls-cert and --tls-key go together"),
    (["--org-ca", "Org1MSP=a.pem"], "need TLS"),
    (["--org-ca", "Org1MSP"], "is not MSPID=FILE"),
    (["--max-message-size", "lots"], "is not a size"),
    (["--log-format", "xml"], "is not one of text, json"),
    (["--workers", "0"], "is not a positive integer"),
    (["--grace-period", "-1"], "is negative"),
])
def test_invalid_settings_are_refused_with_a_message_naming_them(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(argv, {})


@pytest.mark.parametrize(("text", "message"), [
    ("listen: [", "not valid YAML"),
    ("colour: blue", "unknown setting 'colour'"),
    ("channels: [a, b]", "'channels' must map"),
    ("channels: {mychannel: {members: [x]}}", "unknown keys members"),
    ("channels: {mychannel: [1]}", "must be non-empty strings"),
])
def test_an_invalid_configuration_file_is_refused_with_a_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(["--config", str(path)], {})


def test_a_missing_configuration_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(["--config", "/nonexistent/gateway.yaml"], {})


def test_a_mode_that_is_not_built_in_says_so() -> None:
    with pytest.raises(ModeNotAvailableError, match="mode 'quantum' is not available in this build"):
        mode("quantum")


def test_resource_budgets_have_defaults_that_fit_the_charts_memory_limit_and_variables() -> None:
    config = load_config([], {})
    mib = 1024 * 1024
    assert (config.max_ledgers, config.max_response_bytes, config.subscriber_buffer_bytes,
            config.ledger_cache_bytes, config.event_cache_bytes) == (8, 4 * mib, 8 * mib, 32 * mib, 4 * mib)
    environ = {"ORCHESTRATOR_MAX_LEDGERS": "3", "ORCHESTRATOR_MAX_RESPONSE_BYTES": "1MiB",
               "ORCHESTRATOR_SUBSCRIBER_BUFFER_BYTES": "2MiB", "ORCHESTRATOR_LEDGER_CACHE_BYTES": "16MiB",
               "ORCHESTRATOR_EVENT_CACHE_BYTES": "512KiB"}
    config = load_config([], environ)
    assert (config.max_ledgers, config.max_response_bytes, config.subscriber_buffer_bytes,
            config.ledger_cache_bytes, config.event_cache_bytes) == (3, mib, 2 * mib, 16 * mib, 512 * 1024)


def test_the_deprecated_event_buffer_count_still_sets_the_subscriber_budget() -> None:
    assert load_config(["--event-buffer", "100"], {}).subscriber_buffer_bytes == 100 * 4096
    assert load_config(["--event-buffer", "100", "--subscriber-buffer-bytes", "1MiB"], {}
                       ).subscriber_buffer_bytes == 1024 * 1024


def test_a_page_budget_larger_than_what_grpc_sends_is_refused() -> None:
    with pytest.raises(ConfigError, match="--max-response-bytes"):
        load_config(["--max-response-bytes", "8MiB", "--max-response-size", "4MiB"], {})


def test_fabric_failover_is_on_by_default_and_can_be_turned_off_by_flag_variable_or_file(tmp_path: Path) -> None:
    assert load_config(["--mode", "fabric"], {}).fabric_failover is True
    assert load_config(["--mode", "fabric", "--fabric-failover", "off"], {}).fabric_failover is False
    assert load_config(["--mode", "fabric"], {"ORCHESTRATOR_FABRIC_FAILOVER": "off"}).fabric_failover is False
    config_file = tmp_path / "gateway.yaml"
    config_file.write_text("mode: fabric\nfabric_failover: false\n")
    assert load_config(["--config", str(config_file)], {}).fabric_failover is False
    with pytest.raises(ConfigError, match="ORCHESTRATOR_FABRIC_FAILOVER: 'maybe' is not on or off"):
        load_config([], {"ORCHESTRATOR_FABRIC_FAILOVER": "maybe"})
