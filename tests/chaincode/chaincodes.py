"""Small chaincodes that exercise the shim on its own: each answers one kind of state operation."""

# They implement the shim's ``Chaincode`` protocol the way any chaincode would; the function
# name selects the operation, the parameters are UTF-8 strings.

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

from orchestrator.chaincode.shim import ChaincodeStub, Response

if TYPE_CHECKING:
    from tests.chaincode.harness import HarnessPeer


def call(peer: HarnessPeer, function: str, *params: str, mspid: str = "MyOrg1MSP") -> object:
    """Invoke (endorse and commit) a StateChaincode operation; its JSON result."""
    endorsement = peer.endorse(peer.proposal(mspid, function, *(p.encode() for p in params))).check()
    peer.commit(endorsement)
    return json.loads(endorsement.payload)


class StateChaincode:
    """get / put / delete / scan / page / partial / multi / event / raise / wait, on the stub's API."""

    def __init__(self) -> None:
        self.barrier: threading.Barrier | None = None
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def init(self, stub: ChaincodeStub) -> Response:
        return Response.success(b"initialized")

    def invoke(self, stub: ChaincodeStub) -> Response:
        params = [p.decode() for p in stub.parameters]
        operation = getattr(self, f"op_{stub.function}", None)
        if operation is None:
            return Response.error(f"unknown operation {stub.function!r}")
        try:
            result = operation(stub, *params)
        except Exception as exc:  # a chaincode answers its errors
            return Response.error(f"{type(exc).__name__}: {exc}")
        return Response.success(json.dumps(result).encode())

    def op_get(self, stub: ChaincodeStub, key: str) -> str | None:
        value = stub.get(key)
        return None if value is None else value.decode()

    def op_put(self, stub: ChaincodeStub, *pairs: str) -> int:
        for key, value in zip(pairs[::2], pairs[1::2], strict=True):
            stub.put(key, value.encode())
        return len(pairs) // 2

    def op_delete(self, stub: ChaincodeStub, *keys: str) -> int:
        for key in keys:
            stub.delete(key)
        return len(keys)

    def op_increment(self, stub: ChaincodeStub, key: str) -> int:
        """One read, one write: the benchmark's small transaction."""
        value = int(stub.get(key) or b"0") + 1
        stub.put(key, str(value).encode())
        return value

    def op_scan(self, stub: ChaincodeStub, start: str, end: str, limit: str = "") -> list[str]:
        keys = []
        for key, _ in stub.scan(start, end):
            if limit and len(keys) == int(limit):
                break
            keys.append(key)
        return keys

    def op_page(self, stub: ChaincodeStub, start: str, end: str, size: str, bookmark: str = "") -> dict[str, object]:
        stub.set_read_only(True)
        page = stub.scan_page(start, end, int(size), bookmark)
        return {"keys": [key for key, _ in page.entries], "bookmark": page.bookmark}

    def op_put_then_page(self, stub: ChaincodeStub, key: str) -> dict[str, object]:
        stub.put(key, b"x")
        return self.op_page(stub, "", "", "10")

    def op_index(self, stub: ChaincodeStub, object_type: str, *attributes: str) -> str:
        key = stub.create_composite_key(object_type, attributes)
        stub.put(key, b"\x00")
        return key

    def op_partial(self, stub: ChaincodeStub, object_type: str, *attributes: str) -> list[list[str]]:
        return [stub.split_composite_key(key)[1] for key, _ in
                stub.get_state_by_partial_composite_key(object_type, attributes)]

    def op_multi(self, stub: ChaincodeStub, *keys: str) -> list[str | None]:
        return [None if value is None else value.decode() for value in stub.get_multiple(keys)]

    def op_event(self, stub: ChaincodeStub, name: str, payload: str) -> str:
        stub.set_event(name, payload.encode())
        return name

    def op_whoami(self, stub: ChaincodeStub) -> dict[str, object]:
        return {"msp": stub.info.creator_msp, "ts": stub.info.timestamp_ns, "tx": stub.info.tx_id,
                "channel": stub.info.channel}

    def op_proposal(self, stub: ChaincodeStub) -> dict[str, object]:
        """What the stub reads from the signed proposal: Fabric's creator, nonce, binding and transient map."""
        return {"msp": stub.caller.msp_id, "creator": stub.creator.hex(), "nonce": stub.nonce.hex(),
                "binding": stub.binding.hex(), "transient": {k: v.decode() for k, v in stub.transient.items()}}

    def op_together(self, stub: ChaincodeStub, key: str) -> str:
        """Read, then wait until every transaction of the barrier has read too, then write."""
        stub.get(key)
        assert self.barrier is not None
        self.barrier.wait(timeout=30)
        stub.put(key, stub.tx_id.encode())
        return stub.tx_id

    def op_wait(self, stub: ChaincodeStub, key: str) -> str | None:
        """Signal ``entered``, wait for ``release``, then read (used to cut the stream mid-transaction)."""
        self.entered.release()
        self.release.wait(timeout=30)
        return self.op_get(stub, key)


class RaisingChaincode:
    """A chaincode whose invoke raises for ``boom`` (a defect), answers otherwise."""

    def init(self, stub: ChaincodeStub) -> Response:
        raise RuntimeError("init exploded")

    def invoke(self, stub: ChaincodeStub) -> Response:
        if stub.function == "boom":
            raise ZeroDivisionError("rule divided by zero")
        return Response.success(stub.get("k") or b"none")
