"""Hand-written YAML of the deployment (chart metadata, values, examples, lint configurations) passes yamllint.

Templates are not plain YAML; their rendered output is linted in test_chart_examples.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.chart import CHART_DIR, ROOT

FILES = sorted(
    [
        CHART_DIR / "Chart.yaml",
        CHART_DIR / "values.yaml",
        *(CHART_DIR / "examples").glob("*.yaml"),
        ROOT / "docker" / "hadolint.yaml",
        ROOT / ".yamllint.yaml",
    ]
)


def test_templates_are_left_to_the_rendered_output_check() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    assert config.is_file_ignored(str((CHART_DIR / "templates" / "gateway-deployment.yaml").relative_to(ROOT)))
    assert not any(config.is_file_ignored(str(path.relative_to(ROOT))) for path in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_yaml_file_passes_yamllint(path: Path) -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    problems = [f"{path.name}:{p.line}:{p.column} {p.message}" for p in linter.run(path.read_text(), config, str(path))]
    assert not problems, "\n".join(problems)
