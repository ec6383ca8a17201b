"""The floors under the Fabric-mode gateway's CPU per transaction: what grpcio and a signature cost alone."""

# Run from the repository root: ``.venv/bin/python benchmarks/grpc_floor.py`` (``--help`` for
# options). Figures go to stdout; nothing is asserted (tests never time anything).
#
# A RegisterDataManager through the gateway in Fabric mode is one unary call served (the
# backend's) and two unary calls made (Endorse and Submit, over TLS to a peer), plus two ECDSA
# P-256 signatures (proposal, transaction); its status comes from a block stream shared by every
# transaction. Whatever the gateway's own code does, it cannot cost less than these. Each
# server runs in its own process, on grpc.aio as the gateway does, and answers at once with a
# reply of the size given; the client keeps a fixed number of calls in flight from one event loop.
#
# Measured, with 64 and 256 calls in flight:
#   (1) CPU of an asyncio gRPC server per unary call (plaintext, as backends call the gateway)
#   (2) CPU of an asyncio gRPC client per unary call over TLS (as the gateway calls peers)
#   (3) CPU of one ECDSA P-256 signature over a SHA-256 digest (proposal and transaction sizes)
#   then the sum: (1) + 2 x (2) + 2 x (3)

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import grpc.aio
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc import process_cpu  # noqa: E402
from tests.client import free_port  # noqa: E402
from tests.fabric.pki import OrgPki  # noqa: E402

METHOD = "/floor.Echo/Call"


def serve(port: int, reply_size: int, tls_dir: str) -> None:
    """A grpc.aio server answering every call at once with ``reply_size`` bytes (the subprocess)."""

    async def main() -> None:
        reply = os.urandom(reply_size)

        async def call(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            return reply

        server = grpc.aio.server()
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "floor.Echo", {"Call": grpc.unary_unary_rpc_method_handler(call)}),))
        if tls_dir:
            directory = Path(tls_dir)
            credentials = grpc.ssl_server_credentials(
                [((directory / "key.pem").read_bytes(), (directory / "cert.pem").read_bytes())])
            server.add_secure_port(f"127.0.0.1:{port}", credentials)
        else:
            server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


async def drive(channel: grpc.aio.Channel, server_pid: int, calls: int, in_flight: int, request: bytes
                ) -> tuple[float, float]:
    """CPU seconds per call of this process (the client) and of the server, after a warm-up."""
    method = channel.unary_unary(METHOD)
    slots = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with slots:
            await method(request, timeout=60)

    await asyncio.gather(*(one() for _ in range(in_flight * 2)))
    client, server = time.process_time(), process_cpu(server_pid)
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.process_time() - client) / calls, (process_cpu(server_pid) - server) / calls


def measure(tls: Path | None, ca: bytes | None, args: argparse.Namespace) -> dict[int, list[tuple[float, float]]]:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--reply-size", str(args.reply_size),
                               "--tls-dir", str(tls) if tls else ""])
    try:
        address = f"localhost:{port}" if tls else f"127.0.0.1:{port}"
        results: dict[int, list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for in_flight in args.in_flight:

                async def run(window: int = in_flight) -> tuple[float, float]:
                    channel = (grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(ca)) if ca
                               else grpc.aio.insecure_channel(address))
                    async with channel:
                        await channel.channel_ready()
                        return await drive(channel, server.pid, args.calls, window, os.urandom(args.request_size))

                results.setdefault(in_flight, []).append(asyncio.run(run()))
        return results
    finally:
        server.terminate()
        server.wait(30)


def signature_cpu(size: int, count: int = 5000) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    scheme = ec.ECDSA(Prehashed(hashes.SHA256()))
    message = os.urandom(size)
    begin = time.process_time()
    for _ in range(count):
        key.sign(hashlib.sha256(message).digest(), scheme)
    return (time.process_time() - begin) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=4000, help="calls per measurement")
    parser.add_argument("--runs", type=int, default=3, help="measurements per figure (the median is shown)")
    parser.add_argument("--in-flight", type=lambda text: [int(n) for n in text.split(",")], default=[64, 256])
    parser.add_argument("--request-size", type=int, default=3000, help="bytes per request (a signed proposal)")
    parser.add_argument("--reply-size", type=int, default=5000, help="bytes per reply (a prepared transaction)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tls-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.reply_size, args.tls_dir)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        pki = OrgPki("FloorMSP", Path(tmp) / "pki")
        tls = pki.tls_server("peer")
        tls_dir = Path(tmp) / "server"
        tls_dir.mkdir()
        (tls_dir / "key.pem").write_bytes(tls.key_pem)
        (tls_dir / "cert.pem").write_bytes(tls.cert_pem)
        plain = measure(None, None, args)
        secure = measure(tls_dir, pki.tls_ca.cert_path.read_bytes(), args)
    sign = statistics.median(signature_cpu(args.request_size) for _ in range(args.runs))
    print(f"(3) ECDSA P-256 signature: {sign * 1e3:.3f} ms")
    for in_flight in args.in_flight:
        served = statistics.median(server for _, server in plain[in_flight])
        made = statistics.median(client for client, _ in secure[in_flight])
        print(f"(1) {in_flight} in flight: asyncio server {served * 1e3:.3f} ms per unary call "
              f"(runs: {', '.join(f'{s * 1e3:.3f}' for _, s in plain[in_flight])})")
        print(f"(2) {in_flight} in flight: asyncio client over TLS {made * 1e3:.3f} ms per unary call "
              f"(runs: {', '.join(f'{c * 1e3:.3f}' for c, _ in secure[in_flight])})")
        print(f"    floor of a submit through the gateway at {in_flight} in flight: {served * 1e3:.3f} + 2 x "
              f"{made * 1e3:.3f} + 2 x {sign * 1e3:.3f} = {(served + 2 * made + 2 * sign) * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
