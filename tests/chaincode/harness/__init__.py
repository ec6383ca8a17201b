"""A peer-side test harness for chaincode servers: it plays a Fabric peer on the chaincode stream.

Layers, each usable alone:

``ChaincodeConnection`` (stream.py)
    The peer's side of one ``protos.Chaincode/Connect`` stream. ``connect()`` dials the
    chaincode server and accepts its REGISTER (REGISTERED, then READY announcing
    ``Capabilities``: ``FABRIC_2_5`` = none, ``FABRIC_3_1`` = write batches and multi-key
    reads). ``execute(channel, txid, signed_proposal, args, backend, is_init=False)`` sends
    INIT/TRANSACTION, serves every state request of that transaction from ``backend`` (any
    object with ``get/put/delete/scan/scan_page``; range queries in Fabric's batches of 100,
    paginated queries with their metadata) and returns a ``Completion`` (``response``,
    ``event``, ``error`` — ERROR messages, "timeout expired while executing transaction",
    "chaincode stream terminated"). Safe to call from many threads at once. Lower level, for
    protocol tests: ``open()`` (returns the chaincode's first message without answering),
    ``send(message)``, ``unexpected`` (messages outside any transaction), ``send_keepalive()``,
    ``keepalives_received``, ``close()`` (hang up like a peer that goes away).

``Simulation`` / ``VersionedState`` / ``commit_block`` (ledger.py)
    Fabric's simulator and validator: committed reads with versions, range queries recorded
    for phantom checks, last-write-wins writes (empty value = delete), paginated queries only
    in transactions that do not write; ``Simulation.rwset()`` is the deterministic
    ``TxReadWriteSet``; ``commit_block`` applies MVCC and phantom validation in block order.

``HarnessPeer`` (peer.py)
    One channel and one chaincode definition (optionally ``init_required``) on a connection.
    ``proposal(identity_or_mspid, function, *args)`` builds a signed proposal;
    ``endorse(proposal) -> Endorsement(response, read_set, range_queries, write_set, rwset,
    event)``; ``commit(*endorsements) -> [validation code]`` (one block);
    ``submit(endorsement) -> Future[code]`` (a background orderer batching what is pending);
    ``invoke(mspid, function, argument) -> payload`` and ``query(...)`` (raise
    ``EndorsementError`` / ``CommitError``); ``state``, ``blocks``, ``events``, ``status(txid)``.

``build_proposal`` / ``unpack_proposal`` (proposal.py), ``identity_for`` / ``TlsMaterial`` (identity.py)
    Proposals built as Fabric clients build them (txid = hex SHA-256(nonce + creator), client
    timestamp in the channel header, low-S ECDSA signature), per-MSP identities from their own
    CA, and TLS material for a chaincode server and its peers.

``chaincode_server``, ``harness_peer``, ``ChaincodeProcess`` (servers.py)
    A chaincode server in this process or ``orchestrator-chaincode`` in a subprocess, and a
    connected harness peer in front of one.
"""

from tests.chaincode.harness.identity import CertificateAuthority, Identity, TlsMaterial, identity_for
from tests.chaincode.harness.ledger import (
    DUPLICATE_TXID,
    INITIALIZED_KEY,
    MVCC_READ_CONFLICT,
    PHANTOM_READ_CONFLICT,
    VALID,
    RangeQuery,
    Simulation,
    SimulationError,
    VersionedState,
    code_name,
    commit_block,
)
from tests.chaincode.harness.peer import (
    Block,
    CommitError,
    CommittedEvent,
    Endorsement,
    EndorsementError,
    HarnessPeer,
)
from tests.chaincode.harness.proposal import Proposal, ProposalError, build_proposal, tx_id_of, unpack_proposal
from tests.chaincode.harness.servers import CCID, ChaincodeProcess, chaincode_server, free_port, harness_peer
from tests.chaincode.harness.stream import (
    EXECUTE_TIMEOUT,
    FABRIC_2_5,
    FABRIC_3_1,
    MAX_RESULTS_PER_BATCH,
    STREAM_TERMINATED,
    TIMEOUT_EXPIRED,
    Capabilities,
    ChaincodeConnection,
    Completion,
    SimulationBackend,
)

__all__ = [
    "CCID", "DUPLICATE_TXID", "EXECUTE_TIMEOUT", "FABRIC_2_5", "FABRIC_3_1", "INITIALIZED_KEY", "MAX_RESULTS_PER_BATCH",
    "MVCC_READ_CONFLICT", "PHANTOM_READ_CONFLICT", "STREAM_TERMINATED", "TIMEOUT_EXPIRED", "VALID", "Block",
    "Capabilities", "CertificateAuthority", "ChaincodeConnection", "ChaincodeProcess", "CommitError",
    "CommittedEvent", "Completion", "Endorsement", "EndorsementError", "HarnessPeer", "Identity", "Proposal",
    "ProposalError", "RangeQuery", "Simulation", "SimulationBackend", "SimulationError", "TlsMaterial",
    "VersionedState", "build_proposal", "chaincode_server", "code_name", "commit_block", "free_port",
    "harness_peer", "identity_for", "tx_id_of", "unpack_proposal",
]
