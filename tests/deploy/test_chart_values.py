"""Bad values are refused at install with a message naming the field; every value is documented."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART_DIR, EXAMPLES, example, merge, render, render_error, render_example

ORG1 = "distributed-org-1.yaml"
EMBEDDED = "embedded.yaml"
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _org1(override: dict[str, Any]) -> dict[str, Any]:
    return merge(example(ORG1), override)


def _embedded(override: dict[str, Any]) -> dict[str, Any]:
    return merge(example(EMBEDDED), override)


# (values, fragments the message must contain: the field first)
REJECTED: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "replicas_of_the_wrong_type": (_embedded({"gateway": {"replicas": "2"}}), ("/gateway/replicas", "want integer")),
    "unknown_mode": (_embedded({"mode": "standalone"}), ("/mode", "'embedded', 'fabric'")),
    "two_replicas_in_embedded_mode": (_embedded({"gateway": {"replicas": 2}}), ("/gateway/replicas", "maximum")),
    "misspelled_key": (_embedded({"gateway": {"replica": 1}}), ("/gateway", "'replica' not allowed")),
    "unknown_log_level": (_embedded({"gateway": {"logLevel": "verbose"}}), ("/gateway/logLevel", "one of")),
    "port_out_of_range": (_embedded({"gateway": {"grpcPort": 70000}}), ("/gateway/grpcPort", "maximum")),
    "channel_without_organizations": (
        _embedded({"channels": [{"name": "mychannel"}]}),
        ("/channels/0", "missing property 'organizations'"),
    ),
    "channel_name_fabric_refuses": (
        _embedded({"channels": [{"name": "MyChannel", "organizations": ["MyOrg1MSP"]}]}),
        ("/channels/0/name", "does not match pattern"),
    ),
    "chaincode_without_id_or_secret": (
        _org1({"chaincodes": [{"name": "mycc"}, {"name": "yourcc", "id": "yourcc:" + "0" * 64}]}),
        ("/chaincodes/0", "missing property 'id'", "missing property 'idSecret'"),
    ),
    "chaincode_id_that_is_no_package_id": (
        _org1({"chaincodes": [{"name": "mycc", "id": "mycc"}, {"name": "yourcc", "id": "yourcc"}]}),
        ("/chaincodes/0/id", "does not match pattern"),
    ),
    "chaincode_id_secret_without_name": (
        _org1({"chaincodes": [{"name": "mycc", "idSecret": {"key": "ccid"}}]}),
        ("/chaincodes/0/idSecret", "missing property 'name'"),
    ),
    "no_chaincode_in_fabric_mode": (_org1({"chaincodes": []}), ("/chaincodes", "minItems")),
    "missing_identity_in_fabric_mode": (
        _org1({"fabric": {"identity": None}}),
        ("/fabric", "missing property 'identity'"),
    ),
    "identity_without_secret_name": (
        _org1({"fabric": {"identity": {"certificate": {"secretName": ""}}}}),
        ("/fabric/identity/certificate", "secretName"),
    ),
    "identity_given_as_a_path": (
        _org1({"fabric": {"identity": {"key": {"value": "/var/hyperledger/msp/key.pem", "secretName": None}}}}),
        ("/fabric/identity/key/value", "does not match pattern"),
    ),
    "missing_mspid_in_fabric_mode": (_org1({"fabric": {"mspid": ""}}), ("/fabric/mspid", "minLength")),
    "no_peer_in_fabric_mode": (_org1({"fabric": {"peers": []}}), ("/fabric/peers", "minItems")),
    "peer_address_without_port": (
        _org1({"fabric": {"peers": [{"address": "peer0.org-1"}]}}),
        ("/fabric/peers/0/address", "does not match pattern"),
    ),
    "peer_client_auth_without_key": (
        _org1({"fabric": {"peerTLS": {"clientAuth": {"key": None}}}}),
        ("/fabric/peerTLS/clientAuth", "missing property 'key'"),
    ),
    "fabric_channel_without_chaincode": (
        _org1({"channels": [{"name": "mychannel", "organizations": ["MyOrg1MSP"]}]}),
        ("/channels/0", "missing property 'chaincodes'"),
    ),
    "gateway_tls_without_certificate": (
        _embedded({"gateway": {"tls": {"enabled": True}}}),
        ("/gateway/tls/certificate", "missing properties 'secretName', 'key'"),
    ),
    "client_auth_without_tls": (
        _org1({"gateway": {"tls": {"enabled": False}}}),
        ("/gateway/tls/enabled", "value must be true"),
    ),
    "client_auth_without_ca": (
        _org1({"gateway": {"tls": {"clientAuth": {"cas": []}}}}),
        ("/gateway/tls/clientAuth/cas", "minItems"),
    ),
    "organization_ca_without_mspid": (
        _org1({"gateway": {"tls": {"clientAuth": {"orgCAs": [{"certificate": {"value": PEM}}]}}}}),
        ("/gateway/tls/clientAuth/orgCAs/0", "missing property 'mspid'"),
    ),
    "chaincode_tls_without_key": (
        _org1({"chaincode": {"tls": {"key": None}}}),
        ("/chaincode/tls", "missing property 'key'"),
    ),
    "ingress_without_host": (
        _embedded({"gateway": {"ingress": {"enabled": True}}}),
        ("/gateway/ingress/hosts", "minItems"),
    ),
    "claim_size_that_is_no_quantity": (
        _embedded({"gateway": {"persistence": {"size": "lots"}}}),
        ("/gateway/persistence/size", "does not match pattern"),
    ),
    # Rules between values, checked by templates/validate.yaml.
    "channel_chaincode_not_declared": (
        _org1({"channels": [{"name": "mychannel", "organizations": ["MyOrg1MSP"], "chaincodes": ["othercc"]}]}),
        ("channels[0].chaincodes", '"othercc"', "not declared under chaincodes"),
    ),
    "organization_outside_the_channel": (
        _org1({"fabric": {"mspid": "MyOrg3MSP"}}),
        ("channels[0].organizations", '"MyOrg3MSP"'),
    ),
    "channel_listed_twice": (
        _embedded({"channels": [{"name": "mychannel", "organizations": ["MyOrg1MSP"]}] * 2}),
        ("channels[1].name", '"mychannel" is listed twice'),
    ),
    "chaincode_listed_twice": (
        _org1(
            {"chaincodes": [{"name": "mycc", "idSecret": {"name": "a"}}, {"name": "mycc", "idSecret": {"name": "b"}}]}
        ),
        ("chaincodes[1].name", '"mycc" is listed twice'),
    ),
    "init_timeout_beyond_the_job_deadline": (
        _org1({"initJob": {"timeoutSeconds": 600, "activeDeadlineSeconds": 600}}),
        ("initJob.timeoutSeconds", "shorter than initJob.activeDeadlineSeconds"),
    ),
    "replicas_sharing_an_existing_claim": (
        _org1({"gateway": {"replicas": 2, "persistence": {"existingClaim": "events"}}}),
        ("gateway.replicas", 'cannot share gateway.persistence.existingClaim "events"'),
    ),
    "a_disruption_budget_that_is_not_a_number_or_percentage": (
        _org1({"gateway": {"podDisruptionBudget": {"maxUnavailable": "half"}}}),
        ("/gateway/podDisruptionBudget/maxUnavailable",),
    ),
    "a_limit_that_is_not_a_size": (
        _org1({"gateway": {"limits": {"maxResponseBytes": "lots"}}}),
        ("/gateway/limits/maxResponseBytes",),
    ),
    "an_unknown_limit": (
        _org1({"gateway": {"limits": {"maxThreads": 4}}}),
        ("/gateway/limits",),
    ),
    "organization_ca_listed_twice": (
        _org1(
            {
                "gateway": {
                    "tls": {"clientAuth": {"orgCAs": [{"mspid": "MyOrg1MSP", "certificate": {"value": PEM}}] * 2}}
                }
            }
        ),
        ("gateway.tls.clientAuth.orgCAs[1].mspid", "listed twice"),
    ),
    "object_names_beyond_63_characters": (
        _org1(
            {
                "fullnameOverride": "a" * 40,
                "chaincodes": [{"name": "c" * 30, "idSecret": {"name": "a"}}],
                "channels": [{"name": "mychannel", "organizations": ["MyOrg1MSP"], "chaincodes": ["c" * 30]}],
            }
        ),
        ("chaincodes[0].name", "longer than 63 characters"),
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_bad_values_are_refused_with_a_message_naming_the_field(case: str) -> None:
    values, fragments = REJECTED[case]
    message = render_error(values)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from:\n{message}"


def test_schema_errors_are_reported_before_any_template_runs() -> None:
    message = render_error(_org1({"gateway": {"replicas": "2"}, "chaincodes": []}))
    assert message.startswith("values don't meet the specifications of the schema")


def test_valid_variations_are_accepted() -> None:
    render_example(ORG1, {"fabric": {"identity": {"certificate": {"value": PEM}}}})  # value wins over secretName
    render_example(ORG1, {"chaincode": {"enabled": False}, "chaincodes": []})
    render_example(ORG1, {"gateway": {"persistence": {"accessModes": ["ReadWriteMany"]}, "replicas": 2}})
    render_example(ORG1, {"gateway": {"replicas": 3, "podDisruptionBudget": {"maxUnavailable": "50%"}}})
    render_example(ORG1, {"podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None}})
    render({"gateway": {"persistence": {"enabled": False}}})


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A schema node with its $ref (direct, or wrapped in allOf to carry a description) merged in."""
    resolved = dict(node)
    targets = [node] + [part for part in node.get("allOf", []) if "$ref" in part]
    for target in targets:
        if "$ref" in target:
            name = target["$ref"].removeprefix("#/definitions/")
            resolved = {**_resolve(SCHEMA["definitions"][name]), **{k: v for k, v in resolved.items() if k != "$ref"}}
    return resolved


def _value_paths(values: Any, schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Every key of a values document, with its schema node (None when the schema lacks it)."""
    if isinstance(values, dict):
        for key, value in values.items():
            path = f"{prefix}.{key}" if prefix else key
            node = _resolve(schema).get("properties", {}).get(key)
            yield path, node
            if node is not None and ("properties" in _resolve(node) or "items" in _resolve(node)):
                yield from _value_paths(value, _resolve(node), path)
    elif isinstance(values, list):
        items = _resolve(schema).get("items")
        for value in values:
            if items is not None:
                yield from _value_paths(value, _resolve(items), f"{prefix}[]")


@pytest.mark.parametrize("source", ["values.yaml", *(f"examples/{name}" for name in EXAMPLES)])
def test_every_value_is_described_in_the_schema(source: str) -> None:
    document = yaml.safe_load((CHART_DIR / source).read_text())
    undescribed = [
        path for path, node in _value_paths(document, SCHEMA) if node is None or not _resolve(node).get("description")
    ]
    assert not undescribed, undescribed


LEAF_DEFINITIONS = {"fileRef", "optionalFileRef", "resources", "probe"}


def _definition(node: dict[str, Any]) -> str | None:
    for target in [node, *node.get("allOf", [])]:
        if "$ref" in target:
            return str(target["$ref"]).removeprefix("#/definitions/")
    return None


def _documented_paths(values: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Keys the README must list: nested settings down to their leaves, a file reference or resources as one."""
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        node = _resolve(schema)["properties"][key]
        if (
            isinstance(value, dict)
            and value
            and _definition(node) not in LEAF_DEFINITIONS
            and "properties" in _resolve(node)
        ):
            yield from _documented_paths(value, node, path)
        else:
            yield path


def test_chart_readme_lists_every_value() -> None:
    readme = (CHART_DIR / "README.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    missing = sorted(set(_documented_paths(VALUES, SCHEMA)) - listed)
    assert not missing, missing
