"""One distribution, one import root: every package folder is declared and mapped under ``orchestrator``."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"orchestrator": "orchestrator", "shared": "orchestrator.shared", "chaincode": "orchestrator.chaincode",
           "gateway": "orchestrator.gateway", "forwarder": "orchestrator.forwarder"}


def _declared_packages() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}


def test_every_package_folder_is_declared_in_setup_cfg() -> None:
    found = set()
    for folder, root in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((root, *relative)))
    assert found == _declared_packages()


def test_nothing_but_orchestrator_is_top_level() -> None:
    assert all(name == "orchestrator" or name.startswith("orchestrator.") for name in _declared_packages())


def test_the_installed_package_imports() -> None:
    import orchestrator
    import orchestrator.api.event_pb2 as event_pb2

    assert orchestrator.__version__
    assert event_pb2.DESCRIPTOR.name == "event.proto"
