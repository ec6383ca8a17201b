"""The caller of a transaction: the MSP ID of its creator's serialized identity, decoded once per creator."""

from __future__ import annotations

import pytest
from fabric_protos.msp import identities_pb2

from orchestrator.chaincode.identity import Caller, caller_of


def creator(mspid: str, certificate: bytes = b"-----BEGIN CERTIFICATE-----\n...") -> bytes:
    return identities_pb2.SerializedIdentity(mspid=mspid, id_bytes=certificate).SerializeToString()


def test_the_caller_is_the_msp_and_certificate_of_the_serialized_identity() -> None:
    assert caller_of(creator("MyOrg1MSP", b"cert")) == Caller("MyOrg1MSP", b"cert")


def test_the_same_creator_is_decoded_once_and_another_creator_gets_its_own_caller() -> None:
    first = caller_of(creator("MyOrg1MSP", b"cert-a"))
    assert caller_of(creator("MyOrg1MSP", b"cert-a")) is first
    other = caller_of(creator("MyOrg2MSP", b"cert-b"))
    assert other == Caller("MyOrg2MSP", b"cert-b") and other is not first


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "names no creator"),
    (b"\xff\xff", "failed to unmarshal the creator identity"),
    (creator(""), "names no MSP"),
])
def test_a_creator_that_names_no_msp_is_refused_every_time(raw: bytes, message: str) -> None:
    for _ in range(2):  # a refusal is not remembered as an answer
        with pytest.raises(ValueError, match=message):
            caller_of(raw)
