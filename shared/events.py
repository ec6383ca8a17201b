"""Event ids: ``<transaction id>:<lowercase UUID>``, the one place that names events (EVT-2).

Upstream's distributed mode names an event after its transaction so that the transaction, and
so its block, can be found from the id; upstream drew the UUID at random. Every endorsing peer
must compute the same write set, so here the UUID is a name-based one (version 5) of the
transaction id and the event's index in its transaction: deterministic, and the same in both
modes. The UUID carries no order; an event's position is found by looking its id up.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Final

#: Namespace of the name-based UUIDs. Fixed forever: a change would rename no stored event but would
#: make two versions of the chaincode endorse different ids for the same transaction.
EVENT_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/Substra/orchestrator#event-id")

_SEPARATOR: Final = ":"


_NAMESPACE_BYTES: Final = EVENT_NAMESPACE.bytes


def event_id(tx_id: str, index: int) -> str:
    """Id of the ``index``-th event (from 0, emission order) of transaction ``tx_id``.

    The UUID is ``uuid.uuid5(EVENT_NAMESPACE, f"{tx_id}:{index}")``, computed without building
    ``uuid.UUID`` objects: a 1,000-task batch names 1,000 events, and this is four times cheaper.
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{tx_id}{_SEPARATOR}{index}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{tx_id}{_SEPARATOR}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def transaction_id_of(event_id_: str) -> str | None:
    """Transaction id of an event id, ``None`` when the id does not have the event-id shape."""
    tx_id, separator, suffix = event_id_.rpartition(_SEPARATOR)
    if not separator or not tx_id:
        return None
    try:
        parsed = uuid.UUID(suffix)
    except ValueError:
        return None
    return tx_id if str(parsed) == suffix else None


__all__ = ["EVENT_NAMESPACE", "event_id", "transaction_id_of"]
