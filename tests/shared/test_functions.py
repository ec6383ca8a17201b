"""The function table: which RPCs read and which write (rules.md 16.2)."""

from __future__ import annotations

from orchestrator.shared.functions import BOUNDED, BY_NAME

WRITING = {
    "RegisterOrganization", "RegisterAlgo", "RegisterDataManager", "RegisterDataSamples", "UpdateDataSamples",
    "RegisterPlan", "ApplyPlanAction", "RegisterTasks", "ApplyTaskAction", "RegisterModel", "RegisterModels",
    "DisableModel", "RegisterPerformance", "RegisterFailureReport",
}


def test_exactly_the_writing_rpcs_are_submitted__RPC_1_RPC_2() -> None:
    submitted = {f.method.name for f in BY_NAME.values() if not f.read_only}
    assert submitted == WRITING


def test_function_names_are_upstreams_wire_strings() -> None:
    assert "orchestrator.algo:RegisterAlgo" in BY_NAME
    assert "orchestrator.failurereport:RegisterFailureReport" in BY_NAME
    assert "orchestrator.computetask:ApplyTaskAction" in BY_NAME
    assert BY_NAME["orchestrator.model:GetComputeTaskInputModels"].handler == "get_compute_task_input_models"


def test_bounded_methods_exist_and_none_scans_or_cascades() -> None:
    names = {f.method.name for f in BY_NAME.values()}
    assert names >= BOUNDED  # a typo would silently leave a method out
    assert {name for name in BOUNDED if name.startswith("Query")} == {"QueryVersion"}  # a constant, not a listing
    assert not {name for name in BOUNDED if name.startswith(("Apply", "Disable"))}  # transitions cascade
    assert {f.method.name for f in BY_NAME.values() if f.bounded} == BOUNDED
