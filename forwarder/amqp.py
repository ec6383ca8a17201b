"""The broker side: one AMQP connection in confirm mode, upstream's topology, pipelined publishing."""

# pika's asyncio adapter runs on the forwarder's event loop next to the gRPC streams. Messages
# are written without waiting for each confirm; the broker acknowledges them in delivery-tag
# order (often several at once, ``multiple``), and the tokens of the acknowledged messages come
# back, oldest first, in one call of ``on_confirmed`` per acknowledgement: whatever follows a
# confirm (counters, checkpoints) is done once per acknowledgement, not once per message. A
# token never comes back before the tokens published ahead of it, so a checkpoint built from
# them never passes an unconfirmed message. At most ``window`` messages are unconfirmed:
# ``room()`` waits for confirms when the window is full. A negative acknowledgement, a closed
# channel or a lost connection resolves ``lost``: the forwarder then drops this link and starts
# again from the last confirmed event of each channel, so nothing is skipped.
#
# pika hands each frame to its transport on its own (a message is three: method, header, body)
# and the transport sends each with a system call of its own. The connection here gathers the
# frames written in one turn of the loop and hands them over as one piece: one ``send`` for a
# batch of messages instead of three per message.

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pika
import pika.exceptions
from pika.adapters.asyncio_connection import AsyncioConnection

logger = logging.getLogger(__name__)

#: The topic exchange every event is published to, with the channel as routing key (upstream's name).
EXCHANGE: Final = "orchestrator"
CONTENT_TYPE: Final = "application/json"
_PERSISTENT: Final = 2
_ACCESS_REFUSED: Final = 403
_NOT_ALLOWED: Final = 530
_PRECONDITION_FAILED: Final = 406
#: Frames gathered before they are handed to the transport even within one turn of the loop.
_GATHER_BYTES: Final = 256 * 1024


class BrokerRefusedError(RuntimeError):
    """The broker answered but refused us: credentials, virtual host, permissions or a conflicting declaration."""


class BrokerUnavailableError(RuntimeError):
    """The broker could not be reached, or the connection was lost."""


@dataclass(frozen=True)
class Topology:
    """What to declare: one fanout exchange per channel, and per organization a queue bound to its channels."""

    channels: Sequence[str]
    queues: Mapping[str, Sequence[str]]


def connection_parameters(url: str, ca: Path | None) -> Any:
    """pika's parameters for ``url``; ``amqps`` verifies the broker's certificate (``ca`` or the system store)."""
    parameters = pika.URLParameters(url)
    if url.startswith("amqps://"):
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        parameters.ssl_options = pika.SSLOptions(context, parameters.host)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 10
    parameters.blocked_connection_timeout = 300
    parameters.client_properties = {"connection_name": "orchestrator-forwarder"}
    return parameters


class Unconfirmed:
    """The tokens of the messages awaiting their confirm, by delivery tag (1, 2, 3... on a confirm-mode channel).

    Acknowledgements may come out of order: RabbitMQ does not promise their order, and under load it
    acknowledges some messages ahead of older ones. An early one is held back: :meth:`acknowledge`
    returns tokens oldest first and never one before every older one was acknowledged, so whatever
    is built from them (a checkpoint) never passes an unconfirmed message.
    """

    def __init__(self) -> None:
        self._waiting: collections.deque[tuple[int, Any]] = collections.deque()
        self._early: set[int] = set()  # acknowledged, an older one still waiting
        self._tag = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, token: Any) -> int:
        """Record the next message published; its delivery tag."""
        self._tag += 1
        self._waiting.append((self._tag, token))
        return self._tag

    def acknowledge(self, tag: int, *, multiple: bool) -> list[Any]:
        """The broker acknowledged ``tag`` (and every older one if ``multiple``): the tokens now confirmed."""
        waiting, early = self._waiting, self._early
        popleft = waiting.popleft
        confirmed: list[Any] = []
        if multiple or (waiting and waiting[0][0] == tag):
            while waiting and waiting[0][0] <= tag:
                held, token = popleft()
                confirmed.append(token)
                if early:
                    early.discard(held)
        elif waiting and tag > waiting[0][0]:
            early.add(tag)
        while early and waiting and waiting[0][0] in early:
            held, token = popleft()
            early.discard(held)
            confirmed.append(token)
        return confirmed


class _GatheringConnection(AsyncioConnection):  # type: ignore[misc]  # pika has no type hints here
    """pika's asyncio connection, writing the frames of one turn of the loop as one piece.

    ``_adapter_emit_data`` is the hook pika's connection calls for every frame; adapters implement it.
    Frames keep their order: every frame goes through it, and the gathered ones leave before any later one.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._gathered: list[bytes] = []
        self._gathered_bytes = 0
        super().__init__(*args, **kwargs)

    def _adapter_emit_data(self, data: bytes) -> None:
        if not self._gathered:
            self.ioloop.call_soon(self._emit_gathered)
        self._gathered.append(data)
        self._gathered_bytes += len(data)
        if self._gathered_bytes >= _GATHER_BYTES:
            self._emit_gathered()

    def _emit_gathered(self) -> None:
        if not self._gathered:
            return
        data = b"".join(self._gathered)
        self._gathered.clear()
        self._gathered_bytes = 0
        if self._transport is not None:  # gone with the connection: nothing more can be sent on it
            super()._adapter_emit_data(data)


class AmqpLink:
    """One connection and one confirm-mode channel; made by :meth:`open`, dropped on the first failure."""

    def __init__(self, parameters: Any, *, window: int, on_confirmed: Callable[[list[Any]], None]) -> None:
        self._parameters = parameters
        self._window = window
        self._on_confirmed = on_confirmed
        self._connection: Any = None
        self._channel: Any = None
        self._loop = asyncio.get_running_loop()
        self._pending: set[asyncio.Future[Any]] = set()
        self._unconfirmed = Unconfirmed()
        self._room = asyncio.Event()
        self._room.set()
        self.lost: asyncio.Future[Exception] = self._loop.create_future()

    @property
    def unconfirmed(self) -> int:
        return len(self._unconfirmed)

    @property
    def has_room(self) -> bool:
        """Whether :meth:`publish` may be called now without awaiting :meth:`room` (false once lost)."""
        return self._room.is_set() and not self.lost.done()

    # -- opening -------------------------------------------------------------------------------

    async def open(self, topology: Topology) -> None:
        """Connect, enable publisher confirms and declare the topology.

        Raises:
            BrokerRefusedError: bad credentials, unknown virtual host, no permission, or a declaration
                conflicting with an existing exchange or queue.
            BrokerUnavailableError: the broker cannot be reached.
        """
        opened: asyncio.Future[Any] = self._loop.create_future()
        self._connection = _GatheringConnection(
            self._parameters, custom_ioloop=self._loop,
            on_open_callback=lambda connection: _settle(opened, connection),
            on_open_error_callback=lambda _connection, error: _fail(opened, _opening_error(error)),
            on_close_callback=self._connection_closed,
        )
        try:
            await opened
            channel_open: asyncio.Future[Any] = self._loop.create_future()
            self._connection.channel(on_open_callback=lambda channel: _settle(channel_open, channel))
            self._channel = await self._wait(channel_open)
            self._channel.add_on_close_callback(self._channel_closed)
            await self._call(self._channel.confirm_delivery, self._delivery_confirmed)
            await self._declare(topology)
        except BaseException:
            self.close()
            raise
        logger.info("connected to the broker; topology declared for channel(s) %s", ", ".join(topology.channels))

    async def _declare(self, topology: Topology) -> None:
        channel = self._channel
        await self._call(channel.exchange_declare, exchange=EXCHANGE, exchange_type="topic", durable=True)
        for name in topology.channels:
            await self._call(channel.exchange_declare, exchange=name, exchange_type="fanout", durable=True)
            await self._call(channel.exchange_bind, destination=name, source=EXCHANGE, routing_key=name)
        for queue, channels in topology.queues.items():
            await self._call(channel.queue_declare, queue=queue, durable=True)
            for name in channels:
                await self._call(channel.queue_bind, queue=queue, exchange=name)

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        done: asyncio.Future[Any] = self._loop.create_future()
        method(*args, callback=lambda frame: _settle(done, frame), **kwargs)
        return await self._wait(done)

    async def _wait(self, future: asyncio.Future[Any]) -> Any:
        self._pending.add(future)
        try:
            return await future
        finally:
            self._pending.discard(future)

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, routing_key: str, body: bytes, token: Any) -> None:
        """Send one persistent JSON message to the ``orchestrator`` exchange; ``token`` comes back once confirmed.

        Raises:
            BrokerUnavailableError: the link is already lost.
        """
        if self.lost.done():
            raise BrokerUnavailableError("the broker connection is lost")
        self._channel.basic_publish(EXCHANGE, routing_key, body, _PROPERTIES)
        self._unconfirmed.add(token)
        if len(self._unconfirmed) >= self._window:
            self._room.clear()

    async def room(self) -> None:
        """Return once fewer than ``window`` messages await their confirm (at once when the link is lost)."""
        if not self._room.is_set():
            waiter = asyncio.ensure_future(self._room.wait())
            await asyncio.wait((waiter, self.lost), return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every published message to be confirmed."""
        deadline = self._loop.time() + timeout
        while self._unconfirmed and not self.lost.done() and self._loop.time() < deadline:
            await asyncio.sleep(0.01)
        return not self._unconfirmed

    def _delivery_confirmed(self, frame: Any) -> None:
        method = frame.method
        tag = method.delivery_tag
        if isinstance(method, pika.spec.Basic.Nack):
            self._lose(BrokerUnavailableError(f"the broker refused message {tag} (basic.nack)"))
            return
        confirmed = self._unconfirmed.acknowledge(tag, multiple=method.multiple)
        if confirmed:
            self._on_confirmed(confirmed)
        if len(self._unconfirmed) < self._window:
            self._room.set()

    # -- closing -------------------------------------------------------------------------------

    def _lose(self, error: Exception) -> None:
        if not self.lost.done():
            self.lost.set_result(error)
        self._room.set()
        for future in list(self._pending):
            _fail(future, error)
        self.close()

    def _channel_closed(self, _channel: Any, reason: Exception) -> None:
        self._lose(_channel_error(reason))

    def _connection_closed(self, _connection: Any, reason: Exception) -> None:
        self._lose(_opening_error(reason) if isinstance(reason, pika.exceptions.ConnectionClosedByBroker)
                   and reason.reply_code in (_ACCESS_REFUSED, _NOT_ALLOWED)
                   else BrokerUnavailableError(f"broker connection closed: {reason!r}"))

    def close(self) -> None:
        """Close the connection (idempotent); unconfirmed messages are left to the next link."""
        connection = self._connection
        if connection is not None and not (connection.is_closed or connection.is_closing):
            with contextlib.suppress(pika.exceptions.ConnectionWrongStateError):
                connection.close()


_PROPERTIES: Final = pika.BasicProperties(content_type=CONTENT_TYPE, delivery_mode=_PERSISTENT)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _opening_error(error: BaseException) -> Exception:
    """Sort a failure to open into refused (do not insist) or unavailable (retry)."""
    if isinstance(error, pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError):
        return BrokerRefusedError(f"the broker refused the credentials ({error})")
    if isinstance(error, pika.exceptions.ProbableAccessDeniedError):
        return BrokerRefusedError(f"the broker denied access to the virtual host ({error})")
    if isinstance(error, pika.exceptions.ConnectionClosedByBroker) and error.reply_code in (
            _ACCESS_REFUSED, _NOT_ALLOWED):
        return BrokerRefusedError(f"the broker refused the connection: {error.reply_code} {error.reply_text}")
    return BrokerUnavailableError(f"cannot connect to the broker: {error!r}")


def _channel_error(reason: BaseException) -> Exception:
    if isinstance(reason, pika.exceptions.ChannelClosedByBroker) and reason.reply_code in (
            _ACCESS_REFUSED, _PRECONDITION_FAILED):
        return BrokerRefusedError(f"the broker refused a declaration: {reason.reply_code} {reason.reply_text}")
    return BrokerUnavailableError(f"broker channel closed: {reason!r}")
