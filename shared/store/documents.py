"""Generic persistence of protobuf documents and composite-key indexes, with one pagination helper.

Per-asset stores (``store/<asset>.py``) are thin: they name their kinds and indexes and
call this. Values are deterministic binary protobuf (byte-identical on every endorser).
Every query is a partial composite-key scan whose cost grows with the answer, not the ledger.

Every page of every listing is cut by :func:`take_page`: at most ``page_size`` items
(:data:`MAX_PAGE_SIZE` at most), and never more bytes than the response budget the caller
carries (``PageRequest.max_bytes``, the gateway's ``--max-response-bytes``), so that a page
fits in what backends accept (gRPC's default receive limit is 4 MiB). A page holds at least
one item, whatever its size: paging always moves forward.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from google.protobuf.message import DecodeError, Message

from orchestrator.shared.errors import ByteArrayError, InvalidAssetError
from orchestrator.shared.store.keys import composite_key, document_key, partial_key_range, split_composite_key
from orchestrator.shared.store.transaction import Transaction

M = TypeVar("M", bound=Message)
T = TypeVar("T")
C = TypeVar("C")

DEFAULT_PAGE_SIZE: Final = 50  # PAGE-1
#: Largest page: a larger ``page_size`` (2^32 - 1 is what a negative size reads as) asks for this
#: many; upstream's backends ask for 5,000 tasks at once.
MAX_PAGE_SIZE: Final = 10_000
#: Response budget when the caller gives none: gRPC's default receive limit.
DEFAULT_MAX_RESPONSE_BYTES: Final = 4 * 1024 * 1024
#: Bytes of a length-delimited field's tag (field numbers up to 2047), over-counted for the smaller ones.
_TAG_BYTES: Final = 2
_INDEX_VALUE: Final = b"\x00"
_SCAN_CHUNK: Final = 500


@dataclass(frozen=True)
class PageRequest:
    """``page_token``/``page_size`` of a query and the response budget in bytes.

    A size of 0 means the default (PAGE-1); a size above :data:`MAX_PAGE_SIZE` means that maximum.
    """

    token: str = ""
    size: int = 0
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    @property
    def effective_size(self) -> int:
        return min(self.size, MAX_PAGE_SIZE) if self.size > 0 else DEFAULT_PAGE_SIZE


def field_bytes(size: int) -> int:
    """Encoded bytes of a length-delimited field (a message in a repeated field, a string) of ``size`` bytes."""
    varint = 1
    while size >= 0x80 << (7 * (varint - 1)):
        varint += 1
    return _TAG_BYTES + varint + size


def take_page(candidates: Iterable[tuple[T, C]], page: PageRequest, size_of: Callable[[T], int],
              token_of: Callable[[C], str]) -> tuple[list[T], str]:
    """The page: the first ``candidates`` within the page size and the byte budget, and the next token.

    ``candidates`` are ``(item, cursor)`` in listing order, lazily produced; ``token_of(cursor)``
    is the token resuming the listing at that item (built only where a page ends).
    ``size_of(item)`` is the item's encoded size. The page
    stops before the item that would bring the response (items and ``next_page_token``) past
    ``page.max_bytes``, or once it holds ``page.effective_size`` items; it holds at least one.
    The token is non-empty if and only if one more item exists (PAGE-2): one candidate past the
    page is looked at.
    """
    wanted = page.effective_size
    items: list[T] = []
    cursors: list[C] = []
    sizes: list[int] = []
    used = 0
    for item, cursor in candidates:
        if len(items) == wanted:
            next_cursor = cursor
            break
        size = field_bytes(size_of(item))
        if items and used + size > page.max_bytes:
            next_cursor = cursor
            break
        items.append(item)
        cursors.append(cursor)
        sizes.append(size)
        used += size
    else:
        return items, ""
    next_token = token_of(next_cursor)
    while len(items) > 1 and used + field_bytes(len(next_token.encode("utf-8"))) > page.max_bytes:
        items.pop()  # the token needs the room: the page ends one item earlier
        used -= sizes.pop()
        next_token = token_of(cursors.pop())
    return items, next_token


def message_bytes(message: Message) -> int:
    """``size_of`` for protobuf items."""
    return message.ByteSize()


def encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def decode_token(token: str, start: str, end: str) -> str:
    """The bookmark a token stands for; it must lie in the queried range (PAGE-3)."""
    try:
        key = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidAssetError(f"invalid page token {token!r}") from exc
    if not start <= key < end:
        raise InvalidAssetError(f"invalid page token {token!r}: it belongs to another query")
    return key


class DocumentStore:
    """Documents and indexes of one transaction."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx

    # -- documents ---------------------------------------------------------------------

    def load(self, kind: str, key: str, cls: type[M]) -> M | None:
        """The document ``kind:key`` as this transaction sees it, or ``None``."""
        raw = self.tx.get(document_key(kind, key))
        return None if raw is None else self._decode(cls, raw, kind, key)

    def save(self, kind: str, key: str, message: Message) -> None:
        self.tx.put(document_key(kind, key), message.SerializeToString(deterministic=True))

    def exists(self, kind: str, key: str) -> bool:
        """Whether the document exists as this transaction sees it."""
        return self.tx.get(document_key(kind, key)) is not None

    def exists_committed(self, kind: str, key: str) -> bool:
        """Whether the document exists in committed state only (GEN-6)."""
        return self.tx.exists_committed(document_key(kind, key))

    def prefetch(self, kind: str, keys: Iterable[str]) -> None:
        """Read the committed documents ``kind:key`` together, ahead of per-key checks."""
        self.tx.prefetch_committed(document_key(kind, key) for key in keys)

    @staticmethod
    def _decode(cls: type[M], raw: bytes, kind: str, key: str) -> M:
        try:
            return cls.FromString(raw)
        except DecodeError as exc:
            raise ByteArrayError(f"cannot decode {kind} {key!r}") from exc

    # -- indexes -----------------------------------------------------------------------

    def add_index(self, object_type: str, attributes: Sequence[str]) -> None:
        self.tx.put(composite_key(object_type, attributes), _INDEX_VALUE)

    def remove_index(self, object_type: str, attributes: Sequence[str]) -> None:
        self.tx.delete(composite_key(object_type, attributes))

    def index_entries(self, object_type: str, prefix: Sequence[str]) -> Iterator[list[str]]:
        """Attributes (after ``prefix``) of every index entry under ``prefix``, in key order."""
        start, end = partial_key_range(object_type, prefix)
        skip = len(prefix)
        for key, _ in self.tx.scan(start, end):
            yield split_composite_key(key)[1][skip:]

    def index_page(
        self,
        object_type: str,
        prefix: Sequence[str],
        page: PageRequest,
        load: Callable[[list[str]], M | None],
    ) -> tuple[list[M], str]:
        """One page of the documents an index lists under ``prefix``, in key order, cut by :func:`take_page`.

        ``load(attributes)`` gives the document of an index entry (its attributes after
        ``prefix``), or ``None`` to leave the entry out (a filter).
        """
        start, end = partial_key_range(object_type, prefix)
        bookmark = decode_token(page.token, start, end) if page.token else ""
        chunk_size = max(_SCAN_CHUNK, page.effective_size + 1)
        skip = len(prefix)

        def candidates(bookmark: str) -> Iterator[tuple[M, str]]:
            while True:
                chunk = self.tx.scan_page(start, end, chunk_size, bookmark)
                for key, _ in chunk.entries:
                    item = load(split_composite_key(key)[1][skip:])
                    if item is not None:
                        yield item, key
                if not chunk.bookmark:
                    return
                bookmark = chunk.bookmark

        return take_page(candidates(bookmark), page, message_bytes, encode_token)
