"""Paging by position in the PAGE-4 order, for listings that are not one index range.

Some queries merge several index ranges (algos of several categories) or sort a bounded set
loaded by key (the samples named by a filter, the algos of a plan). Their page token is the
*position* of the next item, ``(sortable creation date, key)``: resuming from a position
returns each item once, in order, even if items were added between pages, and the token is
non-empty if and only if one more item exists (PAGE-2).
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from google.protobuf.message import Message

from orchestrator.shared.errors import InvalidAssetError
from orchestrator.shared.store.documents import DocumentStore, PageRequest, message_bytes, take_page
from orchestrator.shared.store.keys import (
    COMPOSITE_NS,
    MAX_UNICODE_RUNE,
    composite_key,
    partial_key_range,
    sortable_time,
    split_composite_key,
)

M = TypeVar("M", bound=Message)

_DATE_WIDTH: Final = len(sortable_time(0))


@dataclass(frozen=True, order=True)
class Position:
    """Where an item sits in the PAGE-4 order: creation date (``sortable_time``), then key."""

    date: str
    key: str

    @classmethod
    def of(cls, timestamp_ns: int, key: str) -> Position:
        return cls(sortable_time(timestamp_ns), key)


def encode_position(position: Position) -> str:
    return base64.urlsafe_b64encode((position.date + position.key).encode("utf-8")).decode("ascii")


def decode_position(token: str) -> Position:
    """The position a token stands for (PAGE-3: an undecodable token is an invalid argument).

    Raises:
        InvalidAssetError: the token was not produced by :func:`encode_position`.
    """
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidAssetError(f"invalid page token {token!r}") from exc
    date, key = text[:_DATE_WIDTH], text[_DATE_WIDTH:]
    if len(date) != _DATE_WIDTH or not date.isdigit() or not key or not is_attribute(key):
        raise InvalidAssetError(f"invalid page token {token!r}")
    return Position(date, key)


def is_attribute(value: str) -> bool:
    """Whether ``value`` can appear in a composite key; a filter value that cannot matches nothing (PAGE-7)."""
    return COMPOSITE_NS not in value and MAX_UNICODE_RUNE not in value


def page_of_sorted(items: Sequence[M], position_of: Callable[[M], Position], page: PageRequest
                   ) -> tuple[list[M], str]:
    """One page of ``items`` (already in PAGE-4 order) starting at the token's position (cut by ``take_page``)."""
    start = decode_position(page.token) if page.token else None
    candidates = ((item, position_of(item)) for item in items if start is None or position_of(item) >= start)
    return take_page(candidates, page, message_bytes, encode_position)


def merged_index_page(
    docs: DocumentStore, object_type: str, prefixes: Sequence[Sequence[str]], page: PageRequest,
    load: Callable[[Position], M],
) -> tuple[list[M], str]:
    """One page of the documents (``load``) of the union of several index ranges ending with date and key.

    Each range is scanned lazily from the token's position and the scans are merged, so the
    cost is the page size times the number of ranges, whatever the ledger holds.
    """
    start = decode_position(page.token) if page.token else None
    scans = [_positions(docs, object_type, prefix, start) for prefix in prefixes]

    def candidates() -> Iterator[tuple[M, Position]]:
        previous: Position | None = None
        for position in heapq.merge(*scans):
            if position != previous:
                previous = position
                yield load(position), position

    return take_page(candidates(), page, message_bytes, encode_position)


def _positions(docs: DocumentStore, object_type: str, prefix: Sequence[str], start: Position | None
               ) -> Iterator[Position]:
    low, high = partial_key_range(object_type, prefix)
    if start is not None:
        low = max(low, composite_key(object_type, [*prefix, start.date, start.key]))
    for key, _ in docs.tx.scan(low, high):
        attributes = split_composite_key(key)[1]
        yield Position(attributes[-2], attributes[-1])
