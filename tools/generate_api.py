"""Regenerate the Python bindings of the orchestrator API from ``proto/``.

The ``.proto`` files import each other by bare file name (``common.proto``), as
upstream does, so that the descriptors and server reflection report bare file
names. protoc then emits top-level imports (``import common_pb2``); this script
rewrites them into package-relative imports so the bindings live under
``orchestrator.api`` without polluting the top-level namespace.

Usage: ``python tools/generate_api.py [OUTPUT_DIR]`` (default ``orchestrator/api``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
DEFAULT_OUTPUT = ROOT / "orchestrator" / "api"

_BARE_IMPORT = re.compile(r"^import (\w+_pb2)( as \w+)?$", re.M)


def generate(output: Path) -> list[Path]:
    """Compile every proto file into ``output``; return the files written."""
    import grpc_tools
    from grpc_tools import protoc

    output.mkdir(parents=True, exist_ok=True)
    protos = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(
        [
            "protoc",
            f"-I{PROTO_DIR}",
            f"-I{well_known}",
            f"--python_out={output}",
            f"--pyi_out={output}",
            f"--grpc_python_out={output}",
            *protos,
        ]
    )
    if status != 0:
        raise SystemExit(f"protoc failed with status {status}")
    written = sorted(output.glob("*_pb2*.py*"))
    local = {p[: -len(".proto")] + "_pb2" for p in protos}
    for path in written:
        source = path.read_text()
        fixed = _BARE_IMPORT.sub(
            lambda m: f"from . import {m.group(1)}{m.group(2) or ''}" if m.group(1) in local else m.group(0),
            source,
        )
        if fixed != source:
            path.write_text(fixed)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    for path in generate(target):
        print(path.relative_to(target.parent) if target == DEFAULT_OUTPUT else path)
