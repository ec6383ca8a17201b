"""A RabbitMQ broker of its own, from Debian's ``rabbitmq-server``, on loopback ports and a private data dir."""

# Nothing is shared with a system broker: node name, AMQP, distribution and epmd ports, data,
# logs, config, Erlang cookie (``HOME``) all live under one temporary directory. The
# management plugin stays off. ``stop()`` ends the broker and the epmd it started.

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.client import free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
USER = "orchestrator"
PASSWORD = "s3cret-forwarder"
START_TIMEOUT = 90.0


def broker_available() -> bool:
    """Whether Debian's rabbitmq-server (and Erlang's epmd) are installed."""
    return SERVER.exists() and _epmd() is not None


def _epmd() -> str | None:
    found = shutil.which("epmd")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/erlang").glob("erts-*/bin/epmd"))
    return str(candidates[-1]) if candidates else None


class RabbitBroker:
    """One broker node; ``start()`` returns once it accepts AMQP connections."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"orc{uuid.uuid4().hex[:12]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        base.mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"default_user = {USER}\n"
            f"default_pass = {PASSWORD}\n"
            "default_vhost = /\n"
            "loopback_users = none\n"
            "log.console = false\n"
            "log.file.level = warning\n"
            "disk_free_limit.absolute = 1MB\n"
        )
        (base / "enabled_plugins").write_text("[].\n")

    @property
    def url(self) -> str:
        return f"amqp://{USER}:{PASSWORD}@127.0.0.1:{self.port}/%2F"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(self.base),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS="127.0.0.1",
            RABBITMQ_CONFIG_FILE=str(self.base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(self.base / "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(self.base / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base / "log"),
            RABBITMQ_PID_FILE=str(self.base / "rabbitmq.pid"),
            RABBITMQ_LOGS=str(self.base / "log" / "rabbit.log"),
        )
        return env

    def start(self) -> RabbitBroker:
        log = open(self.base / "server.out", "ab")  # noqa: SIM115  # closed with the process
        self.process = subprocess.Popen(
            [str(SERVER)], env=self._env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited with {self.process.returncode}: {self.output()}")
            if self._speaks_amqp():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rabbitmq-server did not accept connections in {START_TIMEOUT:.0f}s: {self.output()}")

    def _speaks_amqp(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"AMQP\x00\x00\x09\x01")
                return sock.recv(1) == b"\x01"  # the first byte of Connection.Start, a method frame
        except OSError:
            return False

    def output(self) -> str:
        parts = []
        for path in (self.base / "server.out", self.base / "log" / "rabbit.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self, *, kill: bool = False) -> None:
        """End the broker: SIGKILL (a crash) or SIGTERM (a clean shutdown), and wait for its process group."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self._speaks_amqp() and time.monotonic() < deadline:
            time.sleep(0.1)

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``rabbitmqctl ARGS`` against this node (its cookie, node name and epmd port)."""
        return subprocess.run([str(SERVER.with_name("rabbitmqctl")), "-n", self.node, *args], env=self._env(),
                              capture_output=True, text=True, timeout=60, check=True)

    def stop_epmd(self) -> None:
        epmd = _epmd()
        if epmd is not None:
            subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=10,
                           env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)})

    def close(self) -> None:
        self.stop()
        self.stop_epmd()
