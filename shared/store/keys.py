"""Key layout: asset documents and composite-key indexes in Fabric's encoding.

Documents live at ``<kind>:<key>``. Indexes are Fabric composite keys
(``\\x00`` + object type + ``\\x00`` + each attribute + ``\\x00``) whose value is one
``\\x00`` byte, scanned by partial key: the range ``[prefix, prefix + U+10FFFF)``.
LevelDB peers serve them, so nothing here depends on CouchDB rich queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from orchestrator.shared.errors import InternalError

COMPOSITE_NS: Final = "\x00"
MAX_UNICODE_RUNE: Final = "\U0010ffff"


def document_key(kind: str, key: str) -> str:
    """World-state key of one asset document."""
    return f"{kind}:{key}"


def _check_attribute(value: str) -> None:
    if COMPOSITE_NS in value or MAX_UNICODE_RUNE in value:
        raise InternalError(f"invalid composite key attribute {value!r}")


def composite_key(object_type: str, attributes: Sequence[str]) -> str:
    """Fabric's ``CreateCompositeKey``."""
    _check_attribute(object_type)
    parts = [COMPOSITE_NS, object_type, COMPOSITE_NS]
    for attribute in attributes:
        _check_attribute(attribute)
        parts.append(attribute)
        parts.append(COMPOSITE_NS)
    return "".join(parts)


def partial_key_range(object_type: str, attributes: Sequence[str]) -> tuple[str, str]:
    """Start (inclusive) and end (exclusive) of a partial composite-key scan."""
    start = composite_key(object_type, attributes)
    return start, start + MAX_UNICODE_RUNE


def split_composite_key(key: str) -> tuple[str, list[str]]:
    """Fabric's ``SplitCompositeKey``: object type and attributes."""
    if not key.startswith(COMPOSITE_NS) or not key.endswith(COMPOSITE_NS):
        raise InternalError(f"not a composite key: {key!r}")
    parts = key[1:-1].split(COMPOSITE_NS)
    return parts[0], parts[1:]


def sortable_time(timestamp_ns: int) -> str:
    """Fixed-width decimal nanoseconds, so key order is time order."""
    return f"{timestamp_ns:020d}"


_HEX_COMPLEMENT: Final = str.maketrans("0123456789abcdef", "fedcba9876543210")


def descending(hex_key: str) -> str:
    """A lowercase-hex key (UUID) whose key order is the reverse of the original's."""
    return hex_key.translate(_HEX_COMPLEMENT)
