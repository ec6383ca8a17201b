"""The wire contract: services, methods, messages, fields and enums are pinned.

A backend compiled against upstream's protos must interoperate byte for byte, so any
rename, renumbering, retyping or change of streaming flag must fail here first.
"""

from __future__ import annotations

import difflib
from collections import Counter
from pathlib import Path

from tests.api.descriptors import api_files, contract_lines

LISTING = Path(__file__).with_name("contract.txt")


def test_descriptors_match_the_pinned_listing() -> None:
    expected = LISTING.read_text().splitlines()
    actual = contract_lines()
    diff = "\n".join(difflib.unified_diff(expected, actual, "pinned", "compiled", lineterm=""))
    assert actual == expected, f"the API contract changed:\n{diff}"


def test_descriptor_counts_match_the_spec() -> None:
    kinds = Counter(line.split(" ", 1)[0] for line in contract_lines())
    assert kinds["file"] == 13
    assert kinds["service"] == 12
    assert kinds["method"] == 36
    assert kinds["message"] == 109
    assert kinds["field"] == 310
    assert kinds["enum"] == 11
    assert kinds["value"] == 58


def test_files_use_bare_names_and_the_orchestrator_package() -> None:
    for file in api_files():
        assert "/" not in file.name, file.name
        assert file.package == "orchestrator"
        assert file.GetOptions().go_package == "github.com/owkin/orchestrator/lib/asset"


def test_only_subscribe_to_events_streams() -> None:
    streaming = [line for line in contract_lines() if line.startswith("method ") and "server_stream=True" in line]
    assert len(streaming) == 1
    assert streaming[0].startswith("method orchestrator.EventService.SubscribeToEvents ")


def test_a_renumbered_field_is_detected() -> None:
    """The check itself can fail: a listing with one number changed does not match."""
    lines = contract_lines()
    index = lines.index(next(line for line in lines if line.startswith("field orchestrator.Algo.key ")))
    tampered = [*lines]
    tampered[index] = tampered[index].replace(" 1 string", " 2 string")
    assert tampered != LISTING.read_text().splitlines()
