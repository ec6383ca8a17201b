"""The gRPC floor under the chaincode shim: server CPU per round trip on one bidirectional stream, no chaincode.

Run from the repository root: ``.venv/bin/python benchmarks/stream_floor.py`` (``--help`` for options).
Figures go to stdout; nothing is asserted.

A chaincode transaction is a series of round trips on the peer's stream (TRANSACTION → first
state request, each answer → next request, last answer → COMPLETED): its CPU cannot fall below
that many round trips of the server it runs in. This measures one round trip with nothing but
an echo, four ways: Python's synchronous gRPC server (the shim's: one reader thread, the
response iterator as the one writer) and ``grpc.aio``, each answering on the thread (or event
loop) that read the message, or handing it to a worker thread and back, as the shim does with
a transaction. A client process keeps ``--in-flight`` messages in flight; the server's CPU and
voluntary context switches come from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from fabric_protos.peer import chaincode_shim_pb2, chaincode_shim_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.proc import process_cpu, voluntary_switches
from tests.client import free_port

Message = chaincode_shim_pb2.ChaincodeMessage


def _answer(message: Any) -> Any:
    return Message(type=Message.RESPONSE, txid=message.txid, channel_id=message.channel_id, payload=message.payload)


class SyncEcho(chaincode_shim_pb2_grpc.ChaincodeServicer):  # type: ignore[misc]
    """The shim's layout: a reader thread, the response iterator as the writer, optionally a worker per message."""

    def __init__(self, hop: bool) -> None:
        self.workers = futures.ThreadPoolExecutor(32) if hop else None

    def Connect(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        outgoing: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def read() -> None:
            for message in requests:
                if self.workers is not None:
                    self.workers.submit(lambda m: outgoing.put(_answer(m)), message)
                else:
                    outgoing.put(_answer(message))
            outgoing.put(None)

        threading.Thread(target=read, daemon=True).start()
        while (message := outgoing.get()) is not None:
            yield message


class AioEcho(chaincode_shim_pb2_grpc.ChaincodeServicer):  # type: ignore[misc]
    """The event loop reads and writes; optionally a worker thread makes each answer."""

    def __init__(self, hop: bool) -> None:
        self.workers = futures.ThreadPoolExecutor(32) if hop else None

    async def Connect(self, requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]) -> None:
        loop = asyncio.get_running_loop()
        outgoing: asyncio.Queue[Any] = asyncio.Queue()

        async def write() -> None:
            while (message := await outgoing.get()) is not None:
                await context.write(message)

        writer = asyncio.ensure_future(write())
        async for message in requests:
            if self.workers is not None:
                self.workers.submit(lambda m: loop.call_soon_threadsafe(outgoing.put_nowait, _answer(m)), message)
            else:
                outgoing.put_nowait(_answer(message))
        outgoing.put_nowait(None)
        await writer


def serve(kind: str, hop: bool, port: int) -> None:
    if kind == "sync":
        server = grpc.server(futures.ThreadPoolExecutor(8))
        chaincode_shim_pb2_grpc.add_ChaincodeServicer_to_server(SyncEcho(hop), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        server.wait_for_termination()
        return

    async def main() -> None:
        server = grpc.aio.server()
        chaincode_shim_pb2_grpc.add_ChaincodeServicer_to_server(AioEcho(hop), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()

    asyncio.run(main())


def measure(kind: str, hop: bool, round_trips: int, in_flight: int) -> str:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", kind, str(int(hop)), str(port)])
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = chaincode_shim_pb2_grpc.ChaincodeStub(channel)
        window = threading.Semaphore(in_flight)

        def run(count: int) -> None:
            def requests() -> Iterator[Any]:
                for n in range(count):
                    window.acquire()
                    yield Message(type=Message.GET_STATE, txid=f"{n:064x}", channel_id="mychannel", payload=b"k" * 40)

            for _ in stub.Connect(requests()):
                window.release()

        run(2000)  # warm-up
        cpu, switches, begin = process_cpu(server.pid), voluntary_switches(server.pid), time.perf_counter()
        run(round_trips)
        seconds = time.perf_counter() - begin
        cpu, switches = process_cpu(server.pid) - cpu, voluntary_switches(server.pid) - switches
        channel.close()
    finally:
        server.kill()
        server.wait()
    answered = "by a worker thread" if hop else "where read"
    return (f"{kind:>4}, answered {answered:<18}: {round_trips / seconds:7,.0f} round trips/s, server CPU "
            f"{cpu / round_trips * 1e6:6.1f} us and {switches / round_trips:4.1f} voluntary context switches "
            "per round trip")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-trips", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "HOP", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve[0], args.serve[1] == "1", int(args.serve[2]))
        return 0
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; {args.in_flight} in flight")
    for kind in ("sync", "aio"):
        for hop in (False, True):
            print(measure(kind, hop, args.round_trips, args.in_flight))
    return 0


if __name__ == "__main__":
    sys.exit(main())
