"""Domain errors: one class per kind, each carrying the code that travels in its text.

The chaincode can only return text to the peer, so the kind must survive as a code at the
start of the message (``OE0002: algo with key "..." not found``). The gateway maps codes to
gRPC status codes in one place, :data:`GRPC_CODE_BY_ORC_CODE`, by searching the text in a
fixed priority order (rule ERR-1); the same table serves the embedded mode, so both modes
answer the same status for the same error.
"""

from __future__ import annotations

from typing import ClassVar, Final


class OrcError(Exception):
    """Base of every orchestration error; ``str()`` gives ``"<code>: <message>"``."""

    code: ClassVar[str] = "OE0007"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ByteArrayError(OrcError):
    """Stored data could not be decoded."""

    code = "OE0001"


class NotFoundError(OrcError):
    """The asset is absent from storage."""

    code = "OE0002"


class BadRequestError(OrcError):
    """The request cannot be fulfilled in the current state."""

    code = "OE0003"


class ConflictError(OrcError):
    """An asset with this key already exists."""

    code = "OE0006"


class InternalError(OrcError):
    """Inconsistent stored data or unreachable code."""

    code = "OE0007"


class UnimplementedError(OrcError):
    """Unsupported action or category."""

    code = "OE0010"


class InvalidAssetError(OrcError):
    """Input validation failure or incompatible graph."""

    code = "OE0101"


class PermissionDeniedError(OrcError):
    """The caller is not allowed."""

    code = "OE0102"


class IncompatibleTaskStatusError(OrcError):
    """The task status forbids the operation."""

    code = "OE0104"


class CannotDisableModelError(OrcError):
    """The model is not eligible for disabling (upstream's code has three digits)."""

    code = "OE105"


class IllegalTransitionError(Exception):
    """A task state transition not allowed from the current status (STATE-9).

    Deliberately *not* an :class:`OrcError`: upstream answers UNKNOWN with exactly
    ``event <transition> inappropriate in current state <STATUS>``, and plan
    cancellation skips precisely this error (CP-17).
    """

    def __init__(self, transition: str, status_name: str) -> None:
        super().__init__(f"event {transition} inappropriate in current state {status_name}")
        self.transition = transition
        self.status_name = status_name


def not_found(kind: str, key: str) -> NotFoundError:
    """``<kind> with key "<key>" not found`` (ERR-3)."""
    return NotFoundError(f'{kind} with key "{key}" not found')


def conflict(kind: str, key: str) -> ConflictError:
    """``<kind> with key "<key>" already exists`` (ERR-3)."""
    return ConflictError(f'{kind} with key "{key}" already exists')


# ERR-1: search order of codes in an error text and the gRPC status code (by name, so this
# module stays free of grpc imports) each maps to; first match wins, no match -> UNKNOWN.
GRPC_CODE_BY_ORC_CODE: Final[tuple[tuple[str, str], ...]] = (
    ("OE0101", "INVALID_ARGUMENT"),
    ("OE0006", "ALREADY_EXISTS"),
    ("OE0102", "PERMISSION_DENIED"),
    ("OE0002", "NOT_FOUND"),
    ("OE0003", "FAILED_PRECONDITION"),
    ("OE0104", "INVALID_ARGUMENT"),
    ("OE0010", "UNIMPLEMENTED"),
    ("OE105", "INVALID_ARGUMENT"),
    ("OE0007", "INTERNAL"),
)


def status_name_for(text: str) -> str:
    """gRPC status code name for an error text, by the first code found (ERR-1, ERR-2)."""
    for code, status in GRPC_CODE_BY_ORC_CODE:
        if code in text:
            return status
    return "UNKNOWN"
