"""mypy --strict sees the packages under their import names, and every silenced error says why."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "tools" / "mypy-layout"
CHECKED_FOLDERS = ("orchestrator", "shared", "chaincode", "gateway", "forwarder")
_IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<rest>.*)$")
_IGNORE_WITH_REASON = re.compile(r"^\[[a-z-]+(, *[a-z-]+)*\]  # \S")


def _package_dirs() -> tuple[list[str], dict[str, str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    packages = [line.strip() for line in config["options"]["packages"].splitlines() if line.strip()]
    mapping = {}
    for line in config["options"]["package_dir"].splitlines():
        if line.strip():
            name, _, folder = line.partition("=")
            mapping[name.strip()] = folder.strip()
    return packages, mapping


def _source_folder(package: str, mapping: dict[str, str]) -> Path:
    """Where setuptools takes ``package`` from: the longest mapped prefix, then the rest as folders."""
    parts = package.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in mapping:
            return ROOT.joinpath(mapping[prefix], *parts[cut:])
    return ROOT.joinpath(*parts)


def test_the_layout_mypy_reads_holds_every_installed_package_at_its_import_path() -> None:
    packages, mapping = _package_dirs()
    for package in packages:
        seen_by_mypy = LAYOUT.joinpath(*package.split("."), "__init__.py")
        assert seen_by_mypy.resolve() == (_source_folder(package, mapping) / "__init__.py").resolve(), package


def test_the_layout_links_are_relative_so_a_fresh_clone_anywhere_works() -> None:
    links = [path for path in LAYOUT.rglob("*") if path.is_symlink()]
    assert links
    for link in links:
        assert not os.path.isabs(os.readlink(link)), link


def test_every_type_ignore_names_its_error_code_and_gives_a_reason_on_its_line() -> None:
    unexplained = []
    for folder in CHECKED_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if "api" in path.relative_to(ROOT).parts:  # generated
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found = _IGNORE.search(line)
                if found and not _IGNORE_WITH_REASON.match(found.group("rest")):
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert unexplained == []


def test_the_project_configuration_resolves_the_import_names_in_strict_mode(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "__init__.py").write_text(
        "import orchestrator\n"
        "from orchestrator.chaincode.shim.handler import Response\n"
        "from orchestrator.gateway.interceptors import header_values\n"
        "from orchestrator.shared.errors import status_name_for\n"
        "\n"
        "version: int = orchestrator.__version__\n"
        "status: int = status_name_for('OE0002')\n"
        "response: str = Response.error('no')\n"
        "values: int = header_values\n"
        "\n"
        "\n"
        "def untyped(value):\n"
        "    return value\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", "-p", "probe"],
        capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(tmp_path)}, cwd=tmp_path, timeout=120,
    )
    errors = sorted(re.findall(r":(\d+): error: .*\[([a-z-]+)\]$", result.stdout, re.M))
    assert errors == [("12", "no-untyped-def"), ("6", "assignment"), ("7", "assignment"), ("8", "assignment"),
                      ("9", "assignment")], result.stdout + result.stderr
