"""Validation primitives: UUID, lengths, Addressable, URL, metadata and the error collector (VAL-1..VAL-9)."""

from __future__ import annotations

import uuid as uuidlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.api import algo_pb2, common_pb2
from orchestrator.shared.errors import InvalidAssetError
from orchestrator.shared.validation import primitives as p
from tests.shared.validation.cases import CHECKSUM, KEY, URL, addressable, text_of_bytes

replayable = settings(derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])

# --- VAL-1 UUID -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        KEY,
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "12345678-1234-0234-f234-123456789abc",  # any version and variant nibble
    ],
)
def test_lowercase_uuid_of_any_version_is_valid__VAL_1(value: str) -> None:
    assert p.is_uuid(value)


@pytest.mark.parametrize(
    "value",
    [
        KEY.upper(),
        KEY[:-1] + "A",
        "",
        KEY[:-1],
        KEY + "0",
        KEY.replace("-", ""),
        "{" + KEY + "}",
        KEY + "\n",
        " " + KEY,
        "urn:uuid:" + KEY,
        KEY[:-1] + "g",
        KEY.replace("-", "_"),
        KEY[:-1] + "\u0660",  # a non-ASCII digit
    ],
)
def test_anything_but_a_lowercase_hyphenated_uuid_is_invalid__VAL_1(value: str) -> None:
    assert not p.is_uuid(value)


@replayable
@given(st.uuids())
def test_every_generated_uuid_is_valid__VAL_1(value: uuidlib.UUID) -> None:
    assert p.is_uuid(str(value))


@replayable
@given(st.uuids(), st.data())
def test_a_uuid_with_one_uppercase_hex_letter_is_invalid__VAL_1(value: uuidlib.UUID, data: st.DataObject) -> None:
    text = str(value)
    letters = [i for i, c in enumerate(text) if c in "abcdef"]
    if not letters:
        text, letters = "a" + text[1:], [0]
    i = data.draw(st.sampled_from(letters))
    assert not p.is_uuid(text[:i] + text[i].upper() + text[i + 1 :])


@replayable
@given(st.text())
def test_anything_accepted_as_uuid_is_its_own_canonical_form__VAL_1(value: str) -> None:
    if p.is_uuid(value):
        assert str(uuidlib.UUID(value)) == value


# --- VAL-2 required, VAL-3 empty values skip format checks --------------------------------------


@pytest.mark.parametrize("value", ["", 0, [], {}])
def test_empty_string_zero_enum_empty_list_or_map_is_blank__VAL_2(value: object) -> None:
    assert p.required(value) == p.BLANK


@pytest.mark.parametrize("value", ["x", 1, 9, ["x"], {"k": "v"}])
def test_non_empty_value_is_present__VAL_2(value: object) -> None:
    assert p.required(value) is None


def test_present_but_empty_sub_message_counts_as_present__VAL_2() -> None:
    msg = algo_pb2.NewAlgo()
    assert list(p.present("new_permissions")(msg)) == [("new_permissions", p.BLANK)]
    msg.new_permissions.SetInParent()
    assert list(p.present("new_permissions")(msg)) == []


@pytest.mark.parametrize(
    ("check", "empty"),
    [
        (p.uuid, ""),
        (p.checksum, ""),
        (p.url, ""),
        (p.length_between(1, 100), ""),
        (p.one_of({1, 2}), 0),
        (p.each(p.uuid), []),
    ],
    ids=["uuid", "checksum", "url", "length", "enum", "each"],
)
def test_format_checks_accept_empty_values__VAL_3(check: p.Check, empty: object) -> None:
    assert check(empty) is None


def test_enum_outside_the_allowed_set_is_rejected_but_zero_is_accepted__VAL_3() -> None:
    allowed = p.one_of({1, 2})
    assert allowed(0) is None
    assert allowed(2) is None
    assert allowed(3) is not None
    assert allowed(9) is not None


def test_each_reports_the_first_failing_element__VAL_3() -> None:
    assert p.each(p.uuid)([KEY, "", KEY]) is None
    assert p.each(p.required, p.uuid)([KEY, ""]) == f"element 1 {p.BLANK}"
    assert p.each(p.uuid)([KEY, "x", "y"]) == "element 1 must be a valid UUID"


# --- VAL-4 lengths in bytes -------------------------------------------------------------------


def test_length_counts_utf8_bytes__VAL_4() -> None:
    assert p.utf8_length("abc") == 3
    assert p.utf8_length("é") == 2
    assert p.utf8_length("日") == 3
    assert p.utf8_length("😀") == 4


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a", True),
        (text_of_bytes(100), True),
        (text_of_bytes(101), False),
        (text_of_bytes(100, "é"), True),  # 50 characters
        (text_of_bytes(102, "é"), False),  # 51 characters, 102 bytes
        (text_of_bytes(99, "日"), True),  # 33 characters
        (text_of_bytes(102, "日"), False),  # 34 characters, 102 bytes
    ],
)
def test_length_bounds_are_inclusive_and_in_bytes__VAL_4(value: str, ok: bool) -> None:
    assert (p.length_between(1, 100)(value) is None) is ok


# --- VAL-5 Addressable ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (CHECKSUM, True),
        (CHECKSUM.upper(), True),
        ("aB" * 32, True),
        (CHECKSUM[:-1], False),
        (CHECKSUM + "0", False),
        ("g" + CHECKSUM[1:], False),
        (CHECKSUM[:-1] + "\n", False),
        ("é" * 32, False),  # 64 bytes, not hexadecimal
    ],
)
def test_checksum_is_exactly_64_hexadecimal_characters__VAL_5(value: str, ok: bool) -> None:
    assert p.is_checksum(value) is ok


def _addressable_errors(msg: common_pb2.Addressable | None) -> list[p.FieldError]:
    holder = algo_pb2.NewAlgo()
    if msg is not None:
        holder.description.CopyFrom(msg)
    return list(p.addressable("description")(holder))


def test_valid_addressable_passes__VAL_5() -> None:
    assert _addressable_errors(addressable()) == []


def test_absent_addressable_is_blank_when_required__VAL_5() -> None:
    assert _addressable_errors(None) == [("description", p.BLANK)]
    assert list(p.addressable("description", optional=True)(algo_pb2.NewAlgo())) == []


def test_empty_addressable_reports_both_fields_dotted__VAL_5() -> None:
    names = [name for name, _ in _addressable_errors(common_pb2.Addressable())]
    assert names == ["description.checksum", "description.storage_address"]


def test_addressable_checks_checksum_and_url_formats__VAL_5() -> None:
    errors = _addressable_errors(addressable(checksum="abc", storage_address="0698796898"))
    assert [name for name, _ in errors] == ["description.checksum", "description.storage_address"]


# --- VAL-6 URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "https://somewhere",
        URL,
        "http://somewhere.local/desc/" + KEY,
        "ftp://127.0.0.1/test",
        "http://10.0.0.1:8080/x",
        "http://[::1]:8080/x",
        "http://user:password@host.example.com/x",
        "https://s3.amazonaws.com/bucket/key?x=1#part",
        "ws://a.b",
        "tcp://a.b:1",
        "somewhere.local/x",  # no scheme, but the path has a dot
        "localhost:8080",  # a colon without "://" is parsed with http:// prepended
        "http://localhost:99999",  # the port is not range-checked
        "http://host.com.",  # a trailing dot
        "http://münchen.de",
        "http://a_b.example.com",
        "http://" + "a" * 2075,  # 2 082 characters
    ],
)
def test_ordinary_urls_are_valid__VAL_6(value: str) -> None:
    assert p.is_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",  # 3 bytes
        "0698796898",  # no host, a path without a dot
        "abcd",
        ".example.com",  # starts with a dot
        "http://.example.com",
        "http://host:abc",  # the port is not made of digits
        "http://host:123456",  # more than 5 digits
        "http://example.com/a b",  # whitespace in the path
        "http://exa\x01mple.com",  # a control character
        "http://example.com/%zz",  # an invalid escape
        "http://-a.com",
        "gopher://example.com",  # scheme not in the list
        "x_y://a@b.com",  # a malformed scheme
        "http://a{b@example.com",  # invalid userinfo
        "http://[::1",
        "://example.com",
        "http://" + "a" * 2076,  # 2 083 characters
    ],
)
def test_malformed_urls_are_invalid__VAL_6(value: str) -> None:
    assert not p.is_url(value)


@pytest.mark.parametrize(
    "value",
    [
        "http://" + "a" * 2000 + "!",
        "http://" + "a-" * 1000 + "!",
        "http://" + "a--" * 660 + "!",
        "http://" + "a." * 1000 + "-",
        "http://" + "a_" * 1000 + "!",
        "http://" + "a-b." * 500 + "!",
        "http://www." + "a.a" * 660 + "!",
        "a@" * 1000 + "!",
        ":" * 1000 + "@" + "a" * 1000 + " ",
        "http://" + "a" * 1000 + "@" + "a" * 1000 + "!",
        "@/" * 1000 + " ",
        "http://" + "\u00e9" * 2000 + "!",
    ],
    ids=lambda v: f"{v[:12]}...{len(v)}",
)
def test_pathological_long_input_is_answered__VAL_6(value: str) -> None:
    """Inputs that make the literal pattern backtrack exponentially get an answer (no time assertion)."""
    assert p.is_url(value) is False


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_tld = st.from_regex(r"[a-z]{2,10}", fullmatch=True)
_path = st.from_regex(r"[A-Za-z0-9._~/-]{0,40}", fullmatch=True)


@replayable
@given(_label, _tld, _path)
def test_any_https_url_made_of_a_label_a_tld_and_a_path_is_valid__VAL_6(label: str, tld: str, path: str) -> None:
    assert p.is_url(f"https://{label}.{tld}/{path}")


@replayable
@given(st.text(max_size=60))
def test_url_check_is_total_and_rejects_whitespace_and_short_values__VAL_6(value: str) -> None:
    answer = p.is_url(value)
    assert isinstance(answer, bool)
    if answer:
        assert len(value.encode()) > 3
        assert not any(c in " \t\n\r\f\v" for c in value)


# --- VAL-7 metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"": ""},
        {text_of_bytes(100): text_of_bytes(100)},
        {text_of_bytes(100, "é"): text_of_bytes(99, "日")},
        {f"k{i}": "v" for i in range(1000)},
    ],
    ids=["empty", "empty-key-and-value", "100-bytes", "100-bytes-multibyte", "many-entries"],
)
def test_metadata_keys_and_values_up_to_100_bytes_are_valid__VAL_7(metadata: dict[str, str]) -> None:
    assert p.metadata(metadata) is None


@pytest.mark.parametrize(
    "metadata",
    [
        {text_of_bytes(101): "v"},
        {"k": text_of_bytes(101)},
        {text_of_bytes(102, "é"): "v"},
        {"k": text_of_bytes(102, "日")},
    ],
    ids=["key-101", "value-101", "key-102-multibyte", "value-102-multibyte"],
)
def test_metadata_key_or_value_longer_than_100_bytes_is_invalid__VAL_7(metadata: dict[str, str]) -> None:
    assert p.metadata(metadata) is not None


# --- VAL-9 collector, ERR-3 message shape ------------------------------------------------------


def test_collector_reports_every_field_sorted_by_name__VAL_9() -> None:
    errors = p.FieldErrors("algo")
    errors.extend([("name", "cannot be blank"), ("description.checksum", "bad"), ("key", "must be a valid UUID")])
    with pytest.raises(InvalidAssetError) as raised:
        errors.raise_if_any()
    assert str(raised.value) == (
        "OE0101: algo is not valid: description.checksum: bad; key: must be a valid UUID; name: cannot be blank."
    )


def test_collector_without_errors_does_not_raise__VAL_9() -> None:
    p.FieldErrors("algo").raise_if_any()


def test_validate_applies_every_rule_before_raising__VAL_9() -> None:
    msg = algo_pb2.NewAlgo(key="x")
    rules = (p.required_uuid("key"), p.bounded_text("name", 1, 100), p.present("new_permissions"))
    with pytest.raises(InvalidAssetError) as raised:
        p.validate("algo", msg, rules)
    assert str(raised.value) == (
        "OE0101: algo is not valid: key: must be a valid UUID; name: cannot be blank; new_permissions: cannot be blank."
    )


def test_single_error_message_has_the_upstream_shape__ERR_3() -> None:
    with pytest.raises(InvalidAssetError) as raised:
        p.validate("algo", algo_pb2.NewAlgo(key="x"), (p.required_uuid("key"),))
    assert str(raised.value) == "OE0101: algo is not valid: key: must be a valid UUID."
