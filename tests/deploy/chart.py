"""Rendering the orchestrator chart offline (helm-python-sdk, no helm binary) and reading the result."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "charts" / "orchestrator"
EXAMPLES_DIR = CHART_DIR / "examples"
EXAMPLES = sorted(path.name for path in EXAMPLES_DIR.glob("*.yaml"))
RELEASE = "orchestrator"
NAMESPACE = "org-1"
KUBE_VERSION = "v1.33.0"

Manifest = dict[str, Any]


@functools.cache
def chart() -> helm.Chart:
    return helm.Chart.load(CHART_DIR)


def example(name: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((EXAMPLES_DIR / name).read_text())
    return values


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values: maps merge, anything else (lists included) replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class Rendered:
    """What one `helm install` would send: the manifests, plus the rendered NOTES.txt."""

    templates: dict[str, str]

    @functools.cached_property
    def manifests(self) -> list[Manifest]:
        return [document for _, document in self.documents()]

    @property
    def notes(self) -> str:
        return self.templates[f"{chart().name}/templates/NOTES.txt"]

    def documents(self) -> Iterator[tuple[str, Manifest]]:
        for source, text in sorted(self.templates.items()):
            if source.endswith(".txt"):
                continue
            for document in yaml.safe_load_all(text):
                if document:
                    yield source, document

    def helm_template_output(self) -> str:
        """The text `helm template` prints: each document stripped, under a `# Source:` line."""
        parts = []
        for source, text in sorted(self.templates.items()):
            if source.endswith(".txt"):
                continue
            for document in re.split(r"^---\s*$", text, flags=re.MULTILINE):
                if document.strip():
                    parts.append(f"---\n# Source: {source}\n{document.strip()}\n")
        return "".join(parts)

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def get(self, kind: str, name: str) -> Manifest:
        found = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(found) == 1, (
            f"{kind}/{name} not rendered; {kind}s: {[m['metadata']['name'] for m in self.of_kind(kind)]}"
        )
        return found[0]

    def names(self, kind: str) -> list[str]:
        return sorted(m["metadata"]["name"] for m in self.of_kind(kind))

    def workloads(self) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] in ("Deployment", "StatefulSet", "Job")]


@functools.lru_cache(maxsize=256)
def _render(values_json: str, release: str, namespace: str) -> Rendered:
    return Rendered(chart().render(json.loads(values_json), name=release, namespace=namespace))


def render(values: Mapping[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    return _render(json.dumps(values or {}, sort_keys=True), release, namespace)


def render_example(name: str, override: Mapping[str, Any] | None = None) -> Rendered:
    return render(merge(example(name), override or {}))


def render_error(values: Mapping[str, Any]) -> str:
    """The message with which an install of these values is refused."""
    try:
        chart().render(dict(values), name=RELEASE, namespace=NAMESPACE)
    except helm.HelmError as error:
        return str(error)
    raise AssertionError(f"values were accepted: {values}")


def pod_spec(workload: Manifest) -> Manifest:
    spec: Manifest = workload["spec"]["template"]["spec"]
    return spec


def volumes(workload: Manifest) -> dict[str, Manifest]:
    """The pod's volumes by name, a StatefulSet's claim templates included (each pod's own claim)."""
    found = {volume["name"]: volume for volume in pod_spec(workload).get("volumes", [])}
    for template in workload["spec"].get("volumeClaimTemplates", []):
        name = template["metadata"]["name"]
        found[name] = {"name": name, "persistentVolumeClaim": {"claimName": f"{name}-<pod>"}}
    return found


def container(workload: Manifest, name: str | None = None) -> Manifest:
    containers = pod_spec(workload)["containers"]
    if name is None:
        assert len(containers) == 1
        return containers[0]
    return next(c for c in containers if c["name"] == name)


def env(workload: Manifest) -> dict[str, Any]:
    """Environment of the workload's single container: value, or the valueFrom mapping."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container(workload).get("env", [])}


def mounted_files(rendered: Rendered, workload: Manifest) -> dict[str, tuple[str, str, str]]:
    """Every file the container sees from a Secret or ConfigMap: path -> (kind, object name, key)."""
    files: dict[str, tuple[str, str, str]] = {}
    pod_volumes = volumes(workload)
    for mount in container(workload).get("volumeMounts", []):
        volume = pod_volumes[mount["name"]]
        base = mount["mountPath"].rstrip("/")
        if "configMap" in volume:
            config_map = rendered.get("ConfigMap", volume["configMap"]["name"])
            for key in config_map["data"]:
                files[f"{base}/{key}"] = ("ConfigMap", config_map["metadata"]["name"], key)
        for source in volume.get("projected", {}).get("sources", []):
            secret = source["secret"]
            for item in secret["items"]:
                files[f"{base}/{item['path']}"] = ("Secret", secret["name"], item["key"])
        if "secret" in volume:
            for item in volume["secret"]["items"]:
                files[f"{base}/{item['path']}"] = ("Secret", volume["secret"]["secretName"], item["key"])
    return files


def gateway_config(rendered: Rendered) -> dict[str, Any]:
    config_map = rendered.get("ConfigMap", f"{RELEASE}-gateway")
    config: dict[str, Any] = yaml.safe_load(config_map["data"]["config.yaml"])
    return config
