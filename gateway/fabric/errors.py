"""Errors of the Fabric client, one per step (evaluate, endorse, submit, commit status, commit), with peer details."""

# A Fabric Gateway answers a failed call with a gRPC status whose details list, per endpoint it
# tried, the address, MSP ID and message (``gateway.ErrorDetail``); a chaincode's own error
# text only travels there (``chaincode response 500, OE0002: …``). Each error keeps the status
# code, the transaction id and those details, so callers can tell a chaincode refusal from a
# transport failure without parsing the summary message.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import grpc
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import transaction_pb2
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

#: Prefix the Fabric Gateway puts before a chaincode's error message in an error detail.
CHAINCODE_RESPONSE_PREFIX: Final = "chaincode response "
_STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"
_ERROR_DETAIL_TYPE: Final = "type.googleapis.com/gateway.ErrorDetail"


def _rpc_status_class() -> type[Any]:
    """``google.rpc.Status``, built in a private pool (the googleapis package is not a dependency).

    Typed ``Any``: the class is built at run time, so its fields are unknown to the type checker.
    """
    pool = descriptor_pool.DescriptorPool()
    any_file = descriptor_pb2.FileDescriptorProto()
    any_pb2.DESCRIPTOR.CopyToProto(any_file)
    pool.Add(any_file)
    status_file = descriptor_pb2.FileDescriptorProto(
        name="orchestrator/private/google_rpc_status.proto", package="google.rpc", syntax="proto3",
        dependency=["google/protobuf/any.proto"],
    )
    message = status_file.message_type.add(name="Status")
    repeated = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
    optional = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    message.field.add(name="code", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32, label=optional)
    message.field.add(name="message", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING, label=optional)
    message.field.add(name="details", number=3, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE, label=repeated,
                      type_name=".google.protobuf.Any")
    pool.Add(status_file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


RpcStatus: Final = _rpc_status_class()


@dataclass(frozen=True)
class ErrorDetail:
    """What one endpoint answered: its address, MSP ID and message."""

    address: str
    msp_id: str
    message: str

    @property
    def chaincode_message(self) -> str | None:
        """The chaincode's own error text when this detail is a chaincode response, else ``None``."""
        if not self.message.startswith(CHAINCODE_RESPONSE_PREFIX):
            return None
        _, sep, text = self.message.partition(", ")
        return text if sep else None


def details_of(error: grpc.RpcError) -> tuple[ErrorDetail, ...]:
    """The ``gateway.ErrorDetail`` entries of a gRPC error's rich status, in order."""
    trailers: object = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    # (key, value) pairs at run time; grpc's stubs declare objects with ``key`` and ``value`` attributes only.
    for key, value in cast("Sequence[tuple[str, bytes]]", trailers or ()):
        if key != _STATUS_DETAILS_KEY:
            continue
        try:
            status = RpcStatus.FromString(value)
        except DecodeError:
            return ()
        found = []
        for item in status.details:
            if item.type_url != _ERROR_DETAIL_TYPE:
                continue
            detail = gateway_pb2.ErrorDetail.FromString(item.value)
            found.append(ErrorDetail(detail.address, detail.msp_id, detail.message))
        return tuple(found)
    return ()


def status_details_trailer(code: grpc.StatusCode, message: str, details: Sequence[gateway_pb2.ErrorDetail]
                           ) -> tuple[str, bytes]:
    """The ``grpc-status-details-bin`` trailer carrying ``details`` (what a Fabric Gateway sends)."""
    status = RpcStatus(code=code.value[0], message=message)
    for detail in details:
        status.details.add(type_url=_ERROR_DETAIL_TYPE, value=detail.SerializeToString())
    return _STATUS_DETAILS_KEY, status.SerializeToString()


class GatewayError(Exception):
    """A call to a Fabric Gateway failed with a gRPC status."""

    step: str = "gateway"

    def __init__(self, code: grpc.StatusCode, message: str, details: Sequence[ErrorDetail] = (),
                 *, tx_id: str = "", unreachable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.tx_id = tx_id
        self.unreachable = unreachable  # no peer could be reached: nobody answered, not even to refuse

    @property
    def chaincode_message(self) -> str | None:
        """The first chaincode error text among the details (the chaincode refused the call), if any."""
        for detail in self.details:
            text = detail.chaincode_message
            if text is not None:
                return text
        if self.message.startswith(CHAINCODE_RESPONSE_PREFIX):  # a peer answering without details
            return ErrorDetail("", "", self.message).chaincode_message
        return None

    @property
    def too_many_requests(self) -> bool:
        """The peer refused the call at its concurrency limit (Fabric answers UNKNOWN "too many requests")."""
        return self.code == grpc.StatusCode.UNKNOWN and self.message.startswith("too many requests")

    def __str__(self) -> str:
        text = f"{self.step} error: {self.code.name}: {self.message}"
        if self.tx_id:
            text += f" (transaction {self.tx_id})"
        for detail in self.details:
            text += f"\n  - {detail.address} ({detail.msp_id}): {detail.message}"
        return text


class EvaluateError(GatewayError):
    """Evaluating a transaction failed (the chaincode refused it, or no peer answered)."""

    step = "evaluate"


class EndorseError(GatewayError):
    """Collecting endorsements failed (chaincode refusal, policy not satisfiable, peers unreachable)."""

    step = "endorse"


class SubmitError(GatewayError):
    """Sending the endorsed transaction to the ordering service failed."""

    step = "submit"


class CommitStatusError(GatewayError):
    """The commit status of a submitted transaction could not be obtained (the outcome is unknown)."""

    step = "commit status"


class ChaincodeEventsError(GatewayError):
    """Reading chaincode events failed."""

    step = "chaincode events"


class CommitError(Exception):
    """The transaction was ordered but invalidated at commit (MVCC conflict, policy failure …)."""

    def __init__(self, tx_id: str, code: int, block_number: int) -> None:
        self.tx_id = tx_id
        self.code = code
        self.block_number = block_number
        self.code_name = transaction_pb2.TxValidationCode.Name(code) if code in _VALIDATION_CODES else str(code)
        super().__init__(f"transaction {tx_id} failed to commit with status code {code} ({self.code_name})")

    @property
    def conflict(self) -> bool:
        """An MVCC read or phantom read conflict: the same call may succeed from a fresh endorsement."""
        return self.code in (transaction_pb2.MVCC_READ_CONFLICT, transaction_pb2.PHANTOM_READ_CONFLICT)


_VALIDATION_CODES: Final = frozenset(transaction_pb2.TxValidationCode.values())

__all__ = [
    "CHAINCODE_RESPONSE_PREFIX", "ChaincodeEventsError", "CommitError", "CommitStatusError", "EndorseError",
    "ErrorDetail", "EvaluateError", "GatewayError", "RpcStatus", "SubmitError", "details_of",
    "status_details_trailer",
]
