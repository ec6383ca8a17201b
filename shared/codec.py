"""The one encoding between gateway and chaincode: a JSON envelope carrying the message and a request id.

``{"pb": "<base64 of the deterministic binary protobuf>", "request_id": "<id>"}``, and for
queries ``"max_response_bytes": <n>``: the gateway's response budget, which every page the
contract builds stays within (absent, as from an older gateway or upstream's: 4 MiB).

Upstream's envelope carried the message as protobuf-JSON under ``msg``; encoding that is
an order of magnitude slower in Python than binary protobuf, and a 1,000-task batch spends
most of its time there. Decoding still accepts ``msg`` (so upstream's gateway can drive
this chaincode) and a reply then uses the same form as the request.
An empty payload stands for "no response message" (functions returning nothing).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TypeVar, cast

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from orchestrator.shared.errors import InvalidAssetError

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Envelope:
    """A decoded argument: the message, its request id and whether it came in upstream's JSON form."""

    message: Message
    request_id: str
    upstream_json: bool = False
    max_response_bytes: int | None = None


def encode(message: Message | None, request_id: str = "", *, upstream_json: bool = False) -> bytes:
    """Envelope bytes for ``message``; ``None`` gives the empty payload."""
    if message is None:
        return b""
    if upstream_json:
        body = {"msg": json_format.MessageToJson(message, indent=None), "request_id": request_id}
        return json.dumps(body, separators=(",", ":")).encode("utf-8")
    return encode_serialized(message.SerializeToString(deterministic=True), request_id)


def encode_serialized(data: bytes, request_id: str = "", *, max_response_bytes: int | None = None) -> bytes:
    """Envelope bytes for a message already in binary protobuf (the gateway forwards requests as they came)."""
    budget = b"" if max_response_bytes is None else b',"max_response_bytes":%d' % max_response_bytes
    return b'{"pb":"%s","request_id":%s%s}' % (base64.b64encode(data), json.dumps(request_id).encode("utf-8"), budget)


def decode(payload: bytes, cls: type[M]) -> Envelope:
    """Decode an envelope into a ``cls`` message.

    Raises:
        InvalidAssetError: the payload is not an envelope of a ``cls`` message.
    """
    if not payload:
        return Envelope(cls(), "")
    try:
        body = json.loads(payload)
        request_id = str(body.get("request_id", ""))
        budget = body.get("max_response_bytes")
        if budget is not None and (type(budget) is not int or budget < 1):
            raise ValueError(f"max_response_bytes must be a positive integer, not {budget!r}")
        if "pb" in body:
            return Envelope(cls.FromString(base64.b64decode(body["pb"], validate=True)), request_id,
                            max_response_bytes=budget)
        if "msg" in body:
            message = cls()
            json_format.Parse(body["msg"], message)
            return Envelope(message, request_id, upstream_json=True, max_response_bytes=budget)
    except (ValueError, TypeError, AttributeError, binascii.Error, DecodeError, json_format.ParseError) as exc:
        raise InvalidAssetError(f"cannot decode {cls.DESCRIPTOR.name} argument: {exc}") from exc
    raise InvalidAssetError(f"cannot decode {cls.DESCRIPTOR.name} argument: no message in envelope")


def decode_serialized(payload: bytes, cls: type[Message]) -> bytes:
    """The binary protobuf of an envelope's ``cls`` message, without building the message if it travels so.

    Raises:
        InvalidAssetError: the payload is not an envelope of a ``cls`` message.
    """
    if payload.startswith(b'{"pb":"'):  # what encode writes; anything else takes the general path
        end = payload.find(b'"', 7)
        try:
            return base64.b64decode(payload[7:end], validate=True)
        except binascii.Error as exc:
            raise InvalidAssetError(f"cannot decode {cls.DESCRIPTOR.name} argument: {exc}") from exc
    return decode(payload, cls).message.SerializeToString(deterministic=True)


def decode_message(payload: bytes, cls: type[M]) -> M:
    """The message of an envelope (an empty payload gives an empty message)."""
    return cast(M, decode(payload, cls).message)  # decode built a ``cls``
