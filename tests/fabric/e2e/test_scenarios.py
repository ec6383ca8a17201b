"""Every end-to-end scenario of ``tests/e2e`` (scenarios.md) in Fabric mode: gateway → stand-in peers → contract."""

# The scenarios are written once, against the gateway's public API; this module collects each
# ``tests/e2e/test_<asset>.py`` test under the name ``test_<asset>__<scenario>`` so that it runs
# with this folder's fixtures: a Fabric-mode gateway in front of a stand-in network.

from __future__ import annotations

import importlib
from pathlib import Path

_SCENARIOS = Path(__file__).resolve().parents[2] / "e2e"

for _path in sorted(_SCENARIOS.glob("test_*.py")):
    _module = importlib.import_module(f"tests.e2e.{_path.stem}")
    _asset = _path.stem.removeprefix("test_")
    for _name, _test in vars(_module).items():
        if _name.startswith("test_") and callable(_test) and getattr(_test, "__module__", "") == _module.__name__:
            globals()[f"test_{_asset}__{_name.removeprefix('test_')}"] = _test
