"""Validation primitives (VAL-1..VAL-9): format predicates, field checks, rule shapes and the error collector."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final
from urllib.parse import unquote

from google.protobuf.message import Message

from orchestrator.shared.errors import InvalidAssetError

FieldError = tuple[str, str]
"""One failing field: ``(name, reason)``; nested names are dotted (``description.checksum``)."""

Check = Callable[[Any], str | None]
"""A check on one field value: the reason it fails, or ``None`` when it holds."""

FieldErrorList = Sequence[FieldError]

NO_ERRORS: Final[FieldErrorList] = ()

Rule = Callable[[Any], Iterable[FieldError]]
"""A rule on a whole message: every failing field it finds (built-in rules return a sequence,
:data:`NO_ERRORS` when the message passes, so the common case allocates nothing)."""

BLANK: Final = "cannot be blank"
METADATA_MAX_BYTES: Final = 100

# ---------------------------------------------------------------------------------------------
# Predicates


_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)
_CHECKSUM: Final = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


def is_uuid(value: str) -> bool:
    """True for a lowercase, hyphenated UUID of any version (VAL-1)."""
    return _UUID.fullmatch(value) is not None


def is_checksum(value: str) -> bool:
    """True for exactly 64 hexadecimal characters, either case (VAL-5)."""
    return _CHECKSUM.fullmatch(value) is not None


def utf8_length(value: str) -> int:
    """Length in bytes of the UTF-8 encoding (VAL-4)."""
    return len(value.encode("utf-8"))


# VAL-6 step 3, the pattern of Appendix A. Python's backtracking engine would take exponential
# time on the appendix's literal form (``([X]+-?-?)*[X]+`` on a long run of letters that fails at
# the end), and the length guard of step 1 does not prevent that. The components below accept the
# same language but leave the engine at most one way to match each substring:
#   - ``(\S+(:\S*)?@)`` is ``\S+@`` (``:\S*`` only adds strings that ``\S+`` already matches);
#   - the dotted name ``A([A_-]+)?A([-.]A+)*`` is ``A[A_-]*A(\.A+([-.]A+)*)?`` (a ``-A+`` segment
#     before the first dot is already covered by ``[A_-]*A``);
#   - the sub-domain ``A+([-_.]?A)*A\.A+`` is ``A([-_.]?A)*A\.A+``;
#   - the last label ``([X]+-?-?)*[X]+`` is ``X+(--?X+)*``, possessive, like the top-level
#     domain: both are only ever followed by ``.``, ``:``, ``/``, ``?``, ``#`` or the end, which
#     they cannot match, so giving characters back could never help.
_U: Final = "\u00a1-\uffff"
_A: Final = "[a-zA-Z0-9]"
_X: Final = f"[a-zA-Z{_U}0-9]"
_SCHEME: Final = r"(?:(?:ftp|tcp|udp|wss?|https?)://)"
_USERINFO: Final = r"(?:\S+@)"
_IPV4: Final = (
    r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3]|24\d|25[0-5])(?:\.(?:\d{1,2}|1\d\d|2[0-4]\d|25[0-5])){2}"
    r"(?:\.(?:[0-9]\d?|1\d\d|2[0-4]\d|25[0-5]))"
)
_H4: Final = "[0-9a-fA-F]{1,4}"
_IPV4_TAIL: Final = r"(?:(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])\.){3}(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])"
_IPV6: Final = "|".join(
    (
        f"(?:{_H4}:){{7}}{_H4}",
        f"(?:{_H4}:){{1,7}}:",
        f"(?:{_H4}:){{1,6}}:{_H4}",
        f"(?:{_H4}:){{1,5}}(?::{_H4}){{1,2}}",
        f"(?:{_H4}:){{1,4}}(?::{_H4}){{1,3}}",
        f"(?:{_H4}:){{1,3}}(?::{_H4}){{1,4}}",
        f"(?:{_H4}:){{1,2}}(?::{_H4}){{1,5}}",
        f"{_H4}:(?:(?::{_H4}){{1,6}})",
        f":(?:(?::{_H4}){{1,7}}|:)",
        "fe80:(?::[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]+",
        f"::(?:ffff(?::0{{1,4}})?:)?{_IPV4_TAIL}",
        f"(?:{_H4}:){{1,4}}:{_IPV4_TAIL}",
    )
)
_DOTTED_NAME: Final = rf"{_A}[a-zA-Z0-9_-]*{_A}(?:\.{_A}+(?:[-.]{_A}+)*)?"
_SUBDOMAIN: Final = rf"(?:www\.|{_A}(?:[-_.]?{_A})*{_A}\.{_A}+)"
_LAST_LABEL: Final = rf"{_X}++(?:--?{_X}++)*+"
_TLD: Final = rf"(?:\.[a-zA-Z{_U}]++)?"
_HOST: Final = rf"(?:{_IPV4}|\[(?:{_IPV6})\]|(?:{_DOTTED_NAME}|{_SUBDOMAIN})?{_LAST_LABEL}{_TLD})"
_URL_PATTERN: Final = re.compile(rf"{_SCHEME}?{_USERINFO}?{_HOST}\.?(?::\d{{1,5}})?(?:[/?#]\S*+)?", re.ASCII)

_URL_MAX_CHARS: Final = 2083
_URL_MIN_BYTES: Final = 3
_SCHEME_PREFIX: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*(?=:)")  # a letter, then letters, digits, "+-."
_USERINFO_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:~!$&'()*+,;=%@")
_HOST_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:[]<>\"%")
_ESCAPES_OK: Final = re.compile(r"(?:[^%]|%[0-9a-fA-F]{2})*+", re.ASCII)
_OPTIONAL_PORT: Final = re.compile(r"(?::[0-9]*)?", re.ASCII)
# Character checks as single regex scans (a Python loop per character cost most of VAL-6).
_CONTROL_CHAR: Final = re.compile(r"[\x00-\x1f\x7f]")
_BAD_HOST_CHAR: Final = re.compile(
    "[" + re.escape("".join(chr(code) for code in range(0x80) if chr(code) not in _HOST_CHARS)) + "]")
_ASCII_ESCAPE: Final = re.compile(r"%(?!25)[0-7]")  # after _ESCAPES_OK: an escape of an ASCII byte but "%"


def is_url(value: str) -> bool:
    """True when ``value`` is a URL per VAL-6 (steps 1 to 3, pattern of Appendix A)."""
    if not value or len(value) >= _URL_MAX_CHARS or utf8_length(value) <= _URL_MIN_BYTES or value.startswith("."):
        return False
    to_parse = "http://" + value if ":" in value and "://" not in value else value
    parsed = _parse_url(to_parse)
    if parsed is None:
        return False
    host, path = parsed
    if host.startswith(".") or (not host and path and "." not in path):
        return False
    return _URL_PATTERN.fullmatch(value) is not None


def _parse_url(raw: str) -> tuple[str, str] | None:
    """``(host, path)`` as the Go URL parser of VAL-6 step 2 would read them, ``None`` if it rejects."""
    raw, _, fragment = raw.partition("#")
    if _CONTROL_CHAR.search(raw) or not _ESCAPES_OK.fullmatch(fragment):
        return None
    if raw.startswith(":"):
        return None  # missing protocol scheme
    scheme, rest = "", raw
    if (match := _SCHEME_PREFIX.match(raw)) is not None:
        scheme, rest = match.group(), raw[match.end() + 1 :]
    rest = rest.partition("?")[0]  # the query is not checked
    if not rest.startswith("/"):
        if scheme:
            return "", ""  # opaque URL
        if ":" in rest.partition("/")[0]:
            return None  # first path segment cannot contain a colon
    host = ""
    if rest.startswith("//") and (scheme or not rest.startswith("///")):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        userinfo, at, host = authority.rpartition("@")
        if at and not (set(userinfo) <= _USERINFO_CHARS and _ESCAPES_OK.fullmatch(userinfo)):
            return None
        if host.startswith("["):
            if "]" not in host:
                return None
            port = host[host.rfind("]") + 1 :]
        else:
            port = host[host.rfind(":") :] if ":" in host else ""
        if not _OPTIONAL_PORT.fullmatch(port) or not _valid_host_chars(host):
            return None
    if not _ESCAPES_OK.fullmatch(rest):
        return None
    return unquote(host), unquote(rest)


def _valid_host_chars(host: str) -> bool:
    """Go's host unescaping: well-formed escapes, none of them ASCII but ``%25``, no reserved ASCII."""
    if not _ESCAPES_OK.fullmatch(host):
        return False
    return not _ASCII_ESCAPE.search(host) and not _BAD_HOST_CHAR.search(host)


# ---------------------------------------------------------------------------------------------
# Checks on one value (VAL-3: format checks pass empty values; only ``required`` rejects them)


def required(value: Any) -> str | None:
    """VAL-2 on a scalar, enum, repeated or map value: non-empty / non-zero."""
    return None if value else BLANK


def uuid(value: str) -> str | None:
    """VAL-1."""
    return None if not value or is_uuid(value) else "must be a valid UUID"


def checksum(value: str) -> str | None:
    """VAL-5 checksum: 64 hexadecimal characters."""
    return None if not value or is_checksum(value) else "must be 64 hexadecimal characters"


def url(value: str) -> str | None:
    """VAL-6."""
    return None if not value or is_url(value) else "must be a valid URL"


def metadata(value: Any) -> str | None:
    """VAL-7: every key and every value at most 100 bytes; any number of entries."""
    too_long = any(utf8_length(k) > METADATA_MAX_BYTES or utf8_length(v) > METADATA_MAX_BYTES for k, v in value.items())
    return f"keys and values must be at most {METADATA_MAX_BYTES} bytes long" if too_long else None


def length_between(low: int, high: int) -> Check:
    """VAL-4: UTF-8 length within ``[low, high]`` bytes."""

    def check(value: str) -> str | None:
        if not value or low <= utf8_length(value) <= high:
            return None
        return f"must be between {low} and {high} bytes long" if low > 0 else f"must be at most {high} bytes long"

    return check


def one_of(allowed: Iterable[int]) -> Check:
    """VAL-3: an enum constrained to an allowed set; 0 passes unless also ``required``."""
    values = frozenset(allowed)
    return lambda value: None if not value or value in values else "must be a valid value"


def each(*checks: Check) -> Check:
    """Apply ``checks`` to every element of a list; reports the first failing element."""

    def check(values: Sequence[Any]) -> str | None:
        for index, item in enumerate(values):
            for item_check in checks:
                if (reason := item_check(item)) is not None:
                    return f"element {index} {reason}"
        return None

    return check


# ---------------------------------------------------------------------------------------------
# Rules on a message


def field(name: str, *checks: Check) -> Rule:
    """Apply ``checks`` in order to the field ``name``; the first failure is reported."""

    def rule(msg: Message) -> FieldErrorList:
        value = getattr(msg, name)
        for check in checks:
            if (reason := check(value)) is not None:
                return ((name, reason),)
        return NO_ERRORS

    return rule


def present(name: str) -> Rule:
    """VAL-2 on a message field: present, even if empty (also VAL-8 for new permissions)."""
    return lambda msg: NO_ERRORS if msg.HasField(name) else ((name, BLANK),)


def absent(name: str, reason: str) -> Rule:
    """The message field ``name`` must not be set."""
    return lambda msg: ((name, reason),) if msg.HasField(name) else NO_ERRORS


def required_oneof(name: str) -> Rule:
    """VAL-2 on a oneof: one of its members is set."""
    return lambda msg: NO_ERRORS if msg.WhichOneof(name) is not None else ((name, BLANK),)


def nested(name: str, *rules: Rule, optional: bool = False) -> Rule:
    """Apply ``rules`` to the sub-message ``name``, reporting dotted names; absent fails unless ``optional``."""

    def rule(msg: Message) -> FieldErrorList:
        if not msg.HasField(name):
            return NO_ERRORS if optional else ((name, BLANK),)
        return _prefixed(name, getattr(msg, name), rules)

    return rule


def entries(name: str, *rules: Rule, max_identifier_bytes: int | None = None) -> Rule:
    """A map of messages: identifiers non-empty (and bounded), ``rules`` applied to each value."""

    def rule(msg: Message) -> FieldErrorList:
        values = getattr(msg, name)
        errors: list[FieldError] = []
        for identifier in sorted(values):
            if not identifier:
                errors.append((name, "identifier cannot be empty"))
            elif max_identifier_bytes is not None and utf8_length(identifier) > max_identifier_bytes:
                errors.append((name, f"identifier must be at most {max_identifier_bytes} bytes long"))
            errors.extend(_prefixed(f"{name}.{identifier}", values[identifier], rules))
        return errors

    return rule


def when(predicate: Callable[[Any], bool], *rules: Rule) -> Rule:
    """Apply ``rules`` only to messages for which ``predicate`` holds."""

    def rule(msg: Message) -> FieldErrorList:
        if not predicate(msg):
            return NO_ERRORS
        return [error for inner in rules for error in inner(msg)]

    return rule


def _required_if(condition: bool) -> tuple[Check, ...]:
    return (required,) if condition else ()


def _prefixed(prefix: str, msg: Message, rules: Iterable[Rule]) -> FieldErrorList:
    return [(f"{prefix}.{name}", reason) for inner in rules for name, reason in inner(msg)]


# ---------------------------------------------------------------------------------------------
# Shapes shared by the assets


def required_uuid(name: str) -> Rule:
    """A required UUID key (VAL-1, VAL-2)."""
    return field(name, required, uuid)


def bounded_text(name: str, low: int, high: int) -> Rule:
    """A string of ``low``..``high`` bytes, required when ``low`` > 0 (VAL-2, VAL-4)."""
    return field(name, *_required_if(low > 0), length_between(low, high))


def uuid_list(name: str, *, non_empty: bool = False, non_empty_items: bool = False) -> Rule:
    """A list of UUIDs; an empty list or element passes unless told otherwise (VAL-2, VAL-3)."""
    return field(name, *_required_if(non_empty), each(*_required_if(non_empty_items), uuid))


def enum_in(name: str, allowed: Iterable[int], *, non_zero: bool = False) -> Rule:
    """An enum within ``allowed``; 0 is accepted unless ``non_zero`` (VAL-2, VAL-3)."""
    return field(name, *_required_if(non_zero), one_of(allowed))


def metadata_map(name: str = "metadata") -> Rule:
    """VAL-7."""
    return field(name, metadata)


def addressable(name: str, *, optional: bool = False) -> Rule:
    """An ``Addressable`` sub-message: checksum and storage address both required and well formed (VAL-5)."""
    return nested(
        name,
        field("checksum", required, checksum),
        field("storage_address", required, url),
        optional=optional,
    )


# ---------------------------------------------------------------------------------------------
# Collector


class FieldErrors:
    """Gathers the failing fields of one message and raises them together (VAL-9, ERR-3)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.errors: list[FieldError] = []

    def extend(self, errors: Iterable[FieldError]) -> None:
        """Record failing fields."""
        self.errors.extend(errors)

    def raise_if_any(self) -> None:
        """Raise ``<kind> is not valid: name: reason; ...`` sorted by field name, if anything failed.

        Raises:
            InvalidAssetError: at least one field failed.
        """
        if self.errors:
            details = "; ".join(f"{name}: {reason}" for name, reason in sorted(self.errors))
            raise InvalidAssetError(f"{self.kind} is not valid: {details}.")


def validate(kind: str, msg: Message, rules: Iterable[Rule]) -> None:
    """Apply every rule to ``msg`` and report all failures at once (VAL-9).

    Raises:
        InvalidAssetError: ``<kind> is not valid: ...`` when any rule fails.
    """
    collector = FieldErrors(kind)
    for rule in rules:
        collector.extend(rule(msg))
    collector.raise_if_any()
