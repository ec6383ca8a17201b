"""The committed bindings are exactly what ``proto/`` compiles to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.generate_api import DEFAULT_OUTPUT, generate


def test_committed_bindings_match_a_fresh_generation(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    fresh = {p.name: p.read_text() for p in generate(tmp_path)}
    committed = {p.name: p.read_text() for p in DEFAULT_OUTPUT.glob("*_pb2*.py*")}
    assert sorted(fresh) == sorted(committed)
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"regenerate with `python tools/generate_api.py`: {stale} differ from proto/"


def test_upstream_style_clients_compile_from_proto_alone(tmp_path: Path) -> None:
    """A client generated with plain protoc and bare imports (upstream's way) loads and has every stub."""
    import importlib
    import sys

    pytest.importorskip("grpc_tools")
    from grpc_tools import protoc

    proto_dir = Path(__file__).resolve().parents[2] / "proto"
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(p.name for p in proto_dir.glob("*.proto"))
    status = protoc.main(
        ["protoc", f"-I{proto_dir}", f"-I{well_known}", f"--python_out={tmp_path}", f"--grpc_python_out={tmp_path}",
         *protos]
    )
    assert status == 0
    # The standalone copy must not collide with the package's own modules in the descriptor pool,
    # so load it in a subprocess.
    import subprocess

    code = (
        "import algo_pb2_grpc, computetask_pb2_grpc, event_pb2_grpc;"
        "assert hasattr(event_pb2_grpc, 'EventServiceStub');"
        "assert hasattr(computetask_pb2_grpc.ComputeTaskServiceStub, '__init__')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert importlib.util.find_spec("algo_pb2") is None, "bare modules must never be importable from the package"
