"""The stand-in peer: the real ``gateway.Gateway`` gRPC service, answering as a Fabric 2.5 peer does."""

# Each proposal is unpacked and checked like Fabric's endorser (transaction id = SHA-256 of
# nonce and creator, creator certificate issued by its MSP's CA, signature valid and low-S,
# creator a member of the channel), then simulated by the organization's chaincode through an
# :class:`~tests.fabric.chaincode.Executor`. ``Endorse`` collects endorsements from peers of
# other organizations until the chaincode's policy is met and refuses diverging results;
# ``Submit`` hands the signed transaction to the ordering service; ``CommitStatus`` waits for
# the transaction's block; ``ChaincodeEvents`` streams the events of valid transactions from a
# block. Errors carry ``gateway.ErrorDetail`` entries and the status codes the Fabric Gateway
# uses (UNKNOWN "chaincode response 500, …" for a chaincode error, ABORTED for endorsement
# failures, UNKNOWN "too many requests" past the concurrency limit).

from __future__ import annotations

import hashlib
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.msp import identities_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    events_pb2,
    events_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from fabric_protos.peer.lifecycle import lifecycle_pb2
from google.protobuf.message import DecodeError

from orchestrator.gateway.fabric.errors import status_details_trailer
from tests.fabric.chaincode import Executor, Invocation, Outcome
from tests.fabric.ledger import INITIALIZED_KEY, ChannelLedger
from tests.fabric.msp import MspError, sign
from tests.fabric.orderer import OrdererUnavailableError
from tests.fabric.pki import Credentials

LIFECYCLE = "_lifecycle"  # the system chaincode holding chaincode definitions

if TYPE_CHECKING:
    from tests.fabric.network import StandInNetwork

logger = logging.getLogger(__name__)

#: Suffix of the message a peer gives when a chaincode process went away mid-transaction.
STREAM_TERMINATED = "chaincode stream terminated"


class _Refusal(Exception):
    """A gRPC error with Fabric's error details."""

    def __init__(self, code: grpc.StatusCode, message: str, details: list[gateway_pb2.ErrorDetail] | None = None
                 ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []

    def abort(self, context: grpc.ServicerContext) -> None:
        if self.details:
            context.set_trailing_metadata([status_details_trailer(self.code, self.message, self.details)])
        context.abort(self.code, self.message)


@dataclass
class _Unpacked:
    signed: proposal_pb2.SignedProposal
    proposal: proposal_pb2.Proposal
    header: common_pb2.Header
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader
    payload: proposal_pb2.ChaincodeProposalPayload
    spec: chaincode_pb2.ChaincodeSpec

    @property
    def channel(self) -> str:
        return self.channel_header.channel_id

    @property
    def chaincode(self) -> str:
        return self.spec.chaincode_id.name


def _unpack(signed: proposal_pb2.SignedProposal) -> _Unpacked:
    if not signed.proposal_bytes:
        raise ValueError("a signed proposal is required")
    proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
    if not channel_header.channel_id:
        raise ValueError("no channel id provided")
    if not spec.chaincode_id.name:
        raise ValueError(f"no chaincode name is provided, channel id [{channel_header.channel_id}]")
    return _Unpacked(signed, proposal, header, channel_header, signature_header, payload, spec)


class ConcurrencyLimiter(grpc.ServerInterceptor):
    """Fabric's ``limits.concurrency.gatewayService``: refuse Gateway calls beyond ``limit`` in flight."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self.refused = 0

    def _refuse(self, context: grpc.ServicerContext) -> None:
        self.refused += 1
        context.abort(grpc.StatusCode.UNKNOWN,
                      f"too many requests for /gateway.Gateway, exceeding concurrency limit ({self.limit})")

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or not details.method.startswith("/gateway.Gateway/"):
            return handler
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                if not self._slots.acquire(blocking=False):
                    self._refuse(context)
                try:
                    return inner(request, context)
                finally:
                    self._slots.release()

            return grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        inner_stream = handler.unary_stream

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            if not self._slots.acquire(blocking=False):
                self._refuse(context)
            try:
                yield from inner_stream(request, context)
            finally:
                self._slots.release()

        return grpc.unary_stream_rpc_method_handler(
            stream, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)


class StandInPeer:
    """One peer of one organization, serving the Gateway service on 127.0.0.1."""

    def __init__(self, network: StandInNetwork, mspid: str, name: str, identity: Credentials,
                 tls: Credentials | None, executor: Executor, *, concurrency_limit: int = 500,
                 client_ca: bytes | None = None) -> None:
        self.network = network
        self.mspid = mspid
        self.name = name
        self.executor = executor
        self._key = identity.key
        self.creator = identities_pb2.SerializedIdentity(mspid=mspid, id_bytes=identity.cert_pem).SerializeToString()
        self._tls = tls
        self._client_ca = client_ca
        self.limiter = ConcurrencyLimiter(concurrency_limit)
        self.port = 0
        self._server: grpc.Server | None = None
        self.calls: dict[str, int] = {}
        self.init_proposals = 0  # proposals marked as Init, whatever the outcome
        self.lifecycle_acl_refuses = False  # a channel ACL that refuses _lifecycle queries to clients
        self.events_held = False  # ChaincodeEvents streams stay open but deliver nothing (a lagging peer)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def requires_client_certificates(self) -> bool:
        return self._client_ca is not None

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Serve (on the same port as before when restarted)."""
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.limiter.limit + 64, thread_name_prefix=self.name),
            interceptors=[self.limiter],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                     ("grpc.max_send_message_length", 64 * 1024 * 1024)],
        )
        gateway_pb2_grpc.add_GatewayServicer_to_server(_GatewayServicer(self), server)
        events_pb2_grpc.add_DeliverServicer_to_server(_DeliverServicer(self), server)
        target = f"127.0.0.1:{self.port}"
        if self._tls is not None:
            credentials = grpc.ssl_server_credentials(
                [(self._tls.key_pem, self._tls.cert_pem)], root_certificates=self._client_ca,
                require_client_auth=self._client_ca is not None)
            port = server.add_secure_port(target, credentials)
        else:
            port = server.add_insecure_port(target)
        if not port:
            raise RuntimeError(f"peer {self.name} could not bind {target}")
        self.port = port
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stop serving; in-flight calls are cancelled (an unreachable endpoint, as a crashed peer)."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=None).wait(10)

    # -- the endorser ----------------------------------------------------------------------

    def _count(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1

    def process_proposal(self, signed: proposal_pb2.SignedProposal, *, lock: bool = True
                         ) -> tuple[proposal_response_pb2.ProposalResponse, str | None]:
        """Fabric's ``Endorser.ProcessProposal``: a response, and an error for failures before simulation."""
        try:
            up = _unpack(signed)
        except (DecodeError, ValueError) as exc:
            return _error_response(str(exc)), str(exc)
        failure = self._preprocess(up)
        if failure is not None:
            return _error_response(failure), failure
        ledger = self.network.ledgers[up.channel]
        if lock:
            ledger.lock.acquire_read()
        try:
            return self._simulate(up, ledger), None
        finally:
            if lock:
                ledger.lock.release_read()

    def _preprocess(self, up: _Unpacked) -> str | None:
        header = up.channel_header
        if header.type != common_pb2.ENDORSER_TRANSACTION:
            return f"invalid header type {header.type}"
        expected = hashlib.sha256(up.signature_header.nonce + up.signature_header.creator).hexdigest()
        if header.tx_id != expected:
            return f"invalid txID. It must be [{expected}]. Got [{header.tx_id}]"
        ledger = self.network.ledgers.get(up.channel)
        if ledger is None:
            return f"channel '{up.channel}' not found"
        try:
            member = self.network.msp.verify(up.signature_header.creator, up.signed.proposal_bytes,
                                             up.signed.signature)
        except MspError as exc:
            return f"access denied: channel [{up.channel}] creator org unknown, creator is malformed: {exc}"
        if member.mspid not in ledger.members:
            return f"access denied: channel [{up.channel}] creator org [{member.mspid}]"
        if ledger.status(header.tx_id) is not None:
            return f"duplicate transaction found [{header.tx_id}]"
        return None

    def _simulate(self, up: _Unpacked, ledger: ChannelLedger) -> proposal_response_pb2.ProposalResponse:
        if up.spec.input.is_init:
            self.init_proposals += 1
        if up.chaincode == LIFECYCLE:
            return self._lifecycle(up, ledger)
        definition = ledger.chaincodes.get(up.chaincode)
        if definition is None:
            return _error_response(f"make sure the chaincode {up.chaincode} has been successfully defined on channel "
                                   f"{up.channel} and try again: chaincode {up.chaincode} not found")
        simulation = ledger.simulate(up.chaincode)
        is_init = up.spec.input.is_init
        if definition.init_required:
            initialized = simulation.get(INITIALIZED_KEY) == definition.version.encode()
            if is_init and initialized:
                return _error_response(f"chaincode '{up.chaincode}' is already initialized but called as init")
            if not is_init and not initialized:
                return _error_response(f"chaincode '{up.chaincode}' has not been initialized for this version, "
                                       "must call as init first")
            if is_init:
                simulation.put(INITIALIZED_KEY, definition.version.encode())
        elif is_init:
            return _error_response(f"chaincode '{up.chaincode}' does not require initialization but called as init")
        member = self.network.msp.deserialize(up.signature_header.creator)
        invocation = Invocation(
            channel=up.channel, chaincode=up.chaincode, tx_id=up.channel_header.tx_id,
            timestamp_ns=up.channel_header.timestamp.seconds * 1_000_000_000 + up.channel_header.timestamp.nanos,
            creator_msp=member.mspid, creator=up.signature_header.creator, args=list(up.spec.input.args),
            signed_proposal=up.signed.SerializeToString(), is_init=is_init,
        )
        try:
            outcome = self.executor.execute(invocation, simulation)
        except Exception as exc:  # the chaincode process failed: the peer answers for it
            logger.warning("peer %s: chaincode %s failed: %s", self.name, up.chaincode, exc)
            return _error_response(f"error in simulation: {exc}")
        if outcome is None:
            return _error_response(f"error in simulation: failed to execute transaction {up.channel_header.tx_id}: "
                                   f"{STREAM_TERMINATED}")
        return self._respond(up, definition.version, simulation, outcome)

    def _lifecycle(self, up: _Unpacked, ledger: ChannelLedger) -> proposal_response_pb2.ProposalResponse:
        """``_lifecycle``'s QueryChaincodeDefinition, the one lifecycle query the orchestrator makes."""
        args = list(up.spec.input.args)
        simulation = ledger.simulate(LIFECYCLE)
        if self.lifecycle_acl_refuses:
            return self._respond(up, "", simulation, Outcome(
                500, "Failed to authorize invocation due to failed ACL check: access denied for "
                     "[QueryChaincodeDefinition]"))
        if not args or args[0] != b"QueryChaincodeDefinition" or len(args) != 2:
            name = args[0].decode(errors="replace") if args else ""
            return self._respond(up, "", simulation, Outcome(500, f"unknown function '{name}'"))
        name = lifecycle_pb2.QueryChaincodeDefinitionArgs.FromString(args[1]).name
        definition = ledger.chaincodes.get(name)
        if definition is None:
            return self._respond(up, "", simulation, Outcome(
                500, f"failed to invoke backing implementation of 'QueryChaincodeDefinition': "
                     f"namespace {name} is not defined"))
        result = lifecycle_pb2.QueryChaincodeDefinitionResult(
            sequence=1, version=definition.version, endorsement_plugin="escc", validation_plugin="vscc",
            init_required=definition.init_required)
        return self._respond(up, "", simulation, Outcome(200, "", result.SerializeToString()))

    def _respond(self, up: _Unpacked, version: str, simulation: Any, outcome: Outcome
                 ) -> proposal_response_pb2.ProposalResponse:
        response = proposal_response_pb2.Response(status=outcome.status, message=outcome.message,
                                                  payload=outcome.payload)
        event = b""
        if simulation.event is not None:
            event = chaincode_event_pb2.ChaincodeEvent(
                chaincode_id=up.chaincode, tx_id=up.channel_header.tx_id, event_name=simulation.event[0],
                payload=simulation.event[1],
            ).SerializeToString()
        action = proposal_pb2.ChaincodeAction(
            results=simulation.rwset(), events=event, response=response,
            chaincode_id=chaincode_pb2.ChaincodeID(name=up.chaincode, version=version),
        )
        proposal_hash = hashlib.sha256(up.proposal.header + up.proposal.payload).digest()
        prp = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=proposal_hash, extension=action.SerializeToString()
        ).SerializeToString()
        if outcome.status >= 500:
            return proposal_response_pb2.ProposalResponse(response=response, payload=prp)
        if outcome.status >= 400:
            return proposal_response_pb2.ProposalResponse(response=response)
        endorsement = proposal_response_pb2.Endorsement(endorser=self.creator,
                                                        signature=sign(self._key, prp + self.creator))
        return proposal_response_pb2.ProposalResponse(version=1, response=response, payload=prp,
                                                      endorsement=endorsement)

    def detail(self, message: str) -> gateway_pb2.ErrorDetail:
        return gateway_pb2.ErrorDetail(address=self.address, msp_id=self.mspid, message=message)


def _error_response(message: str) -> proposal_response_pb2.ProposalResponse:
    return proposal_response_pb2.ProposalResponse(response=proposal_response_pb2.Response(status=500, message=message))


def _response_status(response: proposal_response_pb2.ProposalResponse, error: str | None
                     ) -> tuple[grpc.StatusCode, str, bool]:
    """The Fabric Gateway's reading of an endorser's answer: (code, message, retry elsewhere)."""
    if error is not None:
        return grpc.StatusCode.FAILED_PRECONDITION, error, False
    status = response.response.status
    if status < 200 or status >= 400:
        if not response.payload and status == 500:
            return grpc.StatusCode.ABORTED, response.response.message, True
        return grpc.StatusCode.UNKNOWN, f"chaincode response {status}, {response.response.message}", False
    return grpc.StatusCode.OK, "", False


def _result(response: proposal_response_pb2.ProposalResponse) -> bytes:
    payload = proposal_response_pb2.ProposalResponsePayload.FromString(response.payload)
    return proposal_pb2.ChaincodeAction.FromString(payload.extension).response.payload


class _GatewayServicer(gateway_pb2_grpc.GatewayServicer):
    def __init__(self, peer: StandInPeer) -> None:
        self.peer = peer
        self.network = peer.network

    # -- Evaluate ------------------------------------------------------------------------

    def Evaluate(self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext
                 ) -> gateway_pb2.EvaluateResponse:
        self.peer._count("Evaluate")
        try:
            _unpack(request.proposed_transaction)
        except (DecodeError, ValueError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"failed to unpack transaction proposal: {exc}")
        response, error = self.peer.process_proposal(request.proposed_transaction)
        code, message, retry = _response_status(response, error)
        if code != grpc.StatusCode.OK:
            detail = self.peer.detail(message)
            if retry:
                _Refusal(code, "failed to evaluate transaction, see attached details for more info", [detail]
                         ).abort(context)
            _Refusal(code, f"evaluate call to endorser returned error: {message}", [detail]).abort(context)
        result = proposal_response_pb2.Response(status=response.response.status, message=response.response.message,
                                                payload=_result(response))
        return gateway_pb2.EvaluateResponse(result=result)

    # -- Endorse -------------------------------------------------------------------------

    def Endorse(self, request: gateway_pb2.EndorseRequest, context: grpc.ServicerContext
                ) -> gateway_pb2.EndorseResponse:
        self.peer._count("Endorse")
        try:
            up = _unpack(request.proposed_transaction)
        except (DecodeError, ValueError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        try:
            return self._endorse(up, request.proposed_transaction)
        except _Refusal as refusal:
            refusal.abort(context)
        raise AssertionError("unreachable")

    def _endorse(self, up: _Unpacked, signed: proposal_pb2.SignedProposal) -> gateway_pb2.EndorseResponse:
        ledger = self.network.ledgers.get(up.channel)
        if ledger is None:
            raise _Refusal(grpc.StatusCode.FAILED_PRECONDITION, f"channel '{up.channel}' not found")
        definition = ledger.chaincodes.get(up.chaincode)
        ledger.lock.acquire_read()  # one snapshot for every endorser: their read sets must agree
        try:
            first, error = self.peer.process_proposal(signed, lock=False)
            code, message, _ = _response_status(first, error)
            if code != grpc.StatusCode.OK:
                raise _Refusal(grpc.StatusCode.ABORTED,
                               "failed to endorse transaction, see attached details for more info",
                               [self.peer.detail(message)])
            responses = [first]
            if definition is not None and not definition.policy.satisfied_by({self.peer.mspid}):
                responses += self._endorse_elsewhere(signed, first, definition.policy, ledger)
        finally:
            ledger.lock.release_read()
        action = transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=first.payload, endorsements=[r.endorsement for r in responses])
        no_transient = proposal_pb2.ChaincodeProposalPayload(input=up.payload.input).SerializeToString()
        action_payload = transaction_pb2.ChaincodeActionPayload(chaincode_proposal_payload=no_transient, action=action)
        transaction = transaction_pb2.Transaction(actions=[transaction_pb2.TransactionAction(
            header=up.header.signature_header, payload=action_payload.SerializeToString())])
        payload = common_pb2.Payload(header=up.header, data=transaction.SerializeToString())
        envelope = common_pb2.Envelope(payload=payload.SerializeToString())
        return gateway_pb2.EndorseResponse(prepared_transaction=envelope)

    def _endorse_elsewhere(self, signed: proposal_pb2.SignedProposal, first: proposal_response_pb2.ProposalResponse,
                           policy: Any, ledger: ChannelLedger) -> list[proposal_response_pb2.ProposalResponse]:
        """Endorsements of other member organizations (one running peer each), in parallel, until the policy holds."""
        others = [mspid for mspid in policy.members if mspid != self.peer.mspid]
        needed = policy.required() - 1
        peers = [self.network.running_peer(mspid) for mspid in others]
        candidates = [peer for peer in peers if peer is not None]
        errors = [self.peer.detail(f"no running peer of {mspid}") for mspid, peer in zip(others, peers, strict=True)
                  if peer is None]
        results: list[tuple[StandInPeer, proposal_response_pb2.ProposalResponse, str | None]] = []
        threads = []
        lock = threading.Lock()

        def endorse(peer: StandInPeer) -> None:
            response, error = peer.process_proposal(signed, lock=False)
            with lock:
                results.append((peer, response, error))

        for peer in candidates[1:]:
            thread = threading.Thread(target=endorse, args=(peer,))
            thread.start()
            threads.append(thread)
        if candidates:
            endorse(candidates[0])
        for thread in threads:
            thread.join()
        accepted = []
        for peer, response, error in results:
            code, message, _ = _response_status(response, error)
            if code != grpc.StatusCode.OK:
                errors.append(peer.detail(message))
            elif response.payload != first.payload:
                errors.append(peer.detail("ProposalResponsePayloads do not match"))
            else:
                accepted.append(response)
        if len(accepted) < needed:
            raise _Refusal(grpc.StatusCode.ABORTED,
                           "failed to collect enough transaction endorsements, see attached details for more info",
                           errors)
        return accepted[:needed] if policy.rule != "all" else accepted

    # -- Submit --------------------------------------------------------------------------

    def Submit(self, request: gateway_pb2.SubmitRequest, context: grpc.ServicerContext) -> gateway_pb2.SubmitResponse:
        self.peer._count("Submit")
        envelope = request.prepared_transaction
        if not request.HasField("prepared_transaction"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a prepared transaction is required")
        if not envelope.signature:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "prepared transaction must be signed")
        ledger = self.network.ledgers.get(request.channel_id)
        if ledger is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"channel '{request.channel_id}' not found")
        try:
            payload = common_pb2.Payload.FromString(envelope.payload)
            creator = common_pb2.SignatureHeader.FromString(payload.header.signature_header).creator
            member = self.network.msp.verify(creator, envelope.payload, envelope.signature)
            if member.mspid not in ledger.members:
                raise MspError(f"{member.mspid} is not a member of {request.channel_id}")
        except (DecodeError, MspError) as exc:
            context.abort(grpc.StatusCode.ABORTED,
                          "received unsuccessful response from orderer: status=FORBIDDEN, info=implicit policy "
                          f"evaluation failed - 0 sub-policies were satisfied ({exc})")
        try:
            self.network.orderer.broadcast(request.channel_id, request.prepared_transaction.SerializeToString())
        except OrdererUnavailableError as exc:
            _Refusal(grpc.StatusCode.UNAVAILABLE, "no orderers could successfully process transaction",
                     [gateway_pb2.ErrorDetail(address="orderer", msp_id="OrdererMSP", message=str(exc))]
                     ).abort(context)
        return gateway_pb2.SubmitResponse()

    # -- CommitStatus --------------------------------------------------------------------

    def _check_signed(self, identity: bytes, request: bytes, signature: bytes, channel: str,
                      context: grpc.ServicerContext) -> ChannelLedger:
        ledger = self.network.ledgers.get(channel)
        try:
            member = self.network.msp.verify(identity, request, signature)
            if ledger is not None and member.mspid not in ledger.members:
                raise MspError(f"{member.mspid} is not a member of {channel}")
        except MspError as exc:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"access denied: {exc}")
        if ledger is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"channel {channel} not found")
        return ledger

    def CommitStatus(self, signed: gateway_pb2.SignedCommitStatusRequest, context: grpc.ServicerContext
                     ) -> gateway_pb2.CommitStatusResponse:
        self.peer._count("CommitStatus")
        if not signed.request:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a commit status request is required")
        try:
            request = gateway_pb2.CommitStatusRequest.FromString(signed.request)
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid status request: {exc}")
        if not request.identity:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no identity provided")
        if not request.channel_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no channel ID provided")
        if not request.transaction_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "transaction ID should not be empty")
        ledger = self._check_signed(request.identity, signed.request, signed.signature, request.channel_id, context)
        while context.is_active() and self.peer.running:
            found = ledger.wait_status(request.transaction_id, 0.25)
            if found is not None:
                return gateway_pb2.CommitStatusResponse(result=found[1], block_number=found[0])
        context.abort(grpc.StatusCode.CANCELLED, "commit status wait ended")
        raise AssertionError("unreachable")

    # -- ChaincodeEvents -----------------------------------------------------------------

    def ChaincodeEvents(self, signed: gateway_pb2.SignedChaincodeEventsRequest, context: grpc.ServicerContext
                        ) -> Iterator[gateway_pb2.ChaincodeEventsResponse]:
        self.peer._count("ChaincodeEvents")
        if not signed.request:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a chaincode events request is required")
        try:
            request = gateway_pb2.ChaincodeEventsRequest.FromString(signed.request)
        except DecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid chaincode events request: {exc}")
        ledger = self._check_signed(request.identity, signed.request, signed.signature, request.channel_id, context)
        after = request.after_transaction_id
        start = ledger.block_of(after) if after else None
        if start is None:
            position = request.start_position.WhichOneof("Type")
            if position == "specified":
                start = request.start_position.specified.number
            elif position in (None, "next_commit"):
                start = ledger.height
            else:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid start position type: {position}")
        passed = not after
        next_block = start
        while context.is_active() and self.peer.running:
            if self.peer.events_held:
                time.sleep(0.05)
                continue
            blocks = ledger.blocks_from(next_block)
            if not blocks:
                ledger.wait_height(next_block, 0.25)
                continue
            for block in blocks:
                events = []
                for tx in block.transactions:
                    if tx.code != transaction_pb2.VALID or tx.event is None:
                        continue
                    if not passed:
                        passed = tx.tx_id == after
                        continue
                    if tx.event.chaincode_id == request.chaincode_id:
                        events.append(tx.event)
                if events:
                    yield gateway_pb2.ChaincodeEventsResponse(events=events, block_number=block.number)
                next_block = block.number + 1


class _DeliverServicer(events_pb2_grpc.DeliverServicer):
    """The peer's Deliver service, filtered form only: block numbers, transaction ids, validation codes."""

    def __init__(self, peer: StandInPeer) -> None:
        self.peer = peer
        self.network = peer.network

    def DeliverFiltered(self, requests: Iterator[common_pb2.Envelope], context: grpc.ServicerContext
                        ) -> Iterator[events_pb2.DeliverResponse]:
        self.peer._count("DeliverFiltered")
        envelope = next(requests, None)
        if envelope is None:
            return
        try:
            payload = common_pb2.Payload.FromString(envelope.payload)
            header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
            creator = common_pb2.SignatureHeader.FromString(payload.header.signature_header).creator
            seek = ab_pb2.SeekInfo.FromString(payload.data)
        except DecodeError:
            yield events_pb2.DeliverResponse(status=common_pb2.BAD_REQUEST)
            return
        if self.peer.requires_client_certificates and header.tls_cert_hash != _client_cert_hash(context):
            # Fabric binds a Deliver request to its TLS session when it requires client certificates
            yield events_pb2.DeliverResponse(status=common_pb2.BAD_REQUEST)
            return
        ledger = self.network.ledgers.get(header.channel_id)
        if header.type != common_pb2.DELIVER_SEEK_INFO or ledger is None:
            yield events_pb2.DeliverResponse(status=common_pb2.NOT_FOUND if ledger is None else common_pb2.BAD_REQUEST)
            return
        try:
            member = self.network.msp.verify(creator, envelope.payload, envelope.signature)
            if member.mspid not in ledger.members:
                raise MspError("not a member")
        except MspError:
            yield events_pb2.DeliverResponse(status=common_pb2.FORBIDDEN)
            return
        kind = seek.start.WhichOneof("Type")
        number = {"newest": ledger.height - 1, "oldest": 0}.get(kind or "", seek.start.specified.number)
        stop = seek.stop.specified.number if seek.stop.WhichOneof("Type") == "specified" else 2**64 - 1
        while context.is_active() and self.peer.running:
            blocks = ledger.blocks_from(number)
            if not blocks:
                ledger.wait_height(number, 0.25)
                continue
            for block in blocks:
                if block.number > stop:
                    yield events_pb2.DeliverResponse(status=common_pb2.SUCCESS)
                    return
                yield events_pb2.DeliverResponse(filtered_block=_filtered(header.channel_id, block))
                number = block.number + 1


def _client_cert_hash(context: grpc.ServicerContext) -> bytes:
    """SHA-256 of the DER client certificate of the call's TLS session, or empty without one."""
    pem = context.auth_context().get("x509_pem_cert")
    if not pem:
        return b""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem[0].decode())).digest()


def _filtered(channel: str, block: Any) -> events_pb2.FilteredBlock:
    transactions = []
    for tx in block.transactions:
        filtered = events_pb2.FilteredTransaction(txid=tx.tx_id, type=common_pb2.ENDORSER_TRANSACTION,
                                                  tx_validation_code=tx.code)
        if tx.event is not None:  # filtered blocks carry chaincode events without their payload
            event = chaincode_event_pb2.ChaincodeEvent(chaincode_id=tx.event.chaincode_id, tx_id=tx.event.tx_id,
                                                       event_name=tx.event.event_name)
            filtered.transaction_actions.chaincode_actions.add(chaincode_event=event)
        transactions.append(filtered)
    return events_pb2.FilteredBlock(channel_id=channel, number=block.number, filtered_transactions=transactions)


__all__ = ["STREAM_TERMINATED", "ConcurrencyLimiter", "StandInPeer"]
