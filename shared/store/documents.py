"""Generic persistence of protobuf documents and composite-key indexes, with one pagination helper.

Per-asset stores (``store/<asset>.py``) are thin: they name their kinds and indexes and
call this. Values are deterministic binary protobuf (byte-identical on every endorser).
Every query is a partial composite-key scan whose cost grows with the answer, not the ledger.
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

DEFAULT_PAGE_SIZE: Final = 50  # PAGE-1
_INDEX_VALUE: Final = b"\x00"
_SCAN_CHUNK: Final = 500


@dataclass(frozen=True)
class PageRequest:
    """``page_token``/``page_size`` of a query; a size of 0 means the default (PAGE-1)."""

    token: str = ""
    size: int = 0

    @property
    def effective_size(self) -> int:
        return self.size or DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class IndexPage:
    """Attributes of the index entries of one page and the token of the next ("" when none, PAGE-2)."""

    items: list[list[str]]
    next_token: str


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
        accept: Callable[[list[str]], bool] | None = None,
    ) -> IndexPage:
        """One page of index entries under ``prefix`` (optionally filtered), in key order.

        The token is non-empty if and only if one more accepted entry exists (PAGE-2): the
        helper looks one entry ahead, so a last page that is exactly full ends the listing.
        """
        start, end = partial_key_range(object_type, prefix)
        bookmark = decode_token(page.token, start, end) if page.token else ""
        wanted = page.effective_size
        skip = len(prefix)
        items: list[list[str]] = []
        while True:
            chunk = self.tx.scan_page(start, end, max(_SCAN_CHUNK, wanted + 1), bookmark)
            for key, _ in chunk.entries:
                attributes = split_composite_key(key)[1][skip:]
                if accept is not None and not accept(attributes):
                    continue
                if len(items) == wanted:
                    return IndexPage(items, encode_token(key))
                items.append(attributes)
            if not chunk.bookmark:
                return IndexPage(items, "")
            bookmark = chunk.bookmark
