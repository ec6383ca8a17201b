"""Per-channel progress in ``--state-dir``: the last event the broker confirmed, and the last one sent."""

# One JSON file per channel, ``<channel>.json``: ``{"channel", "confirmed", "published", "confirmed_timestamp"}``.
# ``confirmed`` is the id of the last event the broker acknowledged (publisher confirms): a
# restart resumes right after it (``start_event_id``), so no event is ever skipped.
# ``published`` is written *before* a batch goes to the broker: after a crash, the events up to
# it may already be in the queues, so the restarted forwarder counts them as repeats.
# Each write goes to a temporary file, is fsync'ed, renamed over the old one and the directory
# fsync'ed: a crash leaves the previous checkpoint or the new one, never a torn file.

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_CHANNEL_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,248}$")


class CheckpointError(RuntimeError):
    """The state directory cannot be used (unreadable, corrupt, or for another channel)."""


@dataclass(frozen=True)
class Checkpoint:
    """Where one channel stands; empty ids mean "from the first event"."""

    confirmed: str = ""
    published: str = ""
    confirmed_timestamp: str = ""  # RFC 3339, ledger time of ``confirmed``: how far behind the forwarder is


class CheckpointStore:
    """The checkpoint files of one forwarder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"state directory {directory}: {exc.strerror or exc}") from exc
        if not os.access(directory, os.W_OK | os.X_OK):
            raise CheckpointError(f"state directory {directory} is not writable")

    def path(self, channel: str) -> Path:
        if not _CHANNEL_NAME.match(channel):
            raise CheckpointError(f"channel name {channel!r} cannot name a state file")
        return self.directory / f"{channel}.json"

    def load(self, channel: str) -> Checkpoint:
        """The saved checkpoint of ``channel``, or an empty one when none was ever saved.

        Raises:
            CheckpointError: the file exists but is not a checkpoint of this channel.
        """
        path = self.path(channel)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return Checkpoint()
        except OSError as exc:
            raise CheckpointError(f"{path}: {exc.strerror or exc}") from exc
        try:
            data = json.loads(raw)
            if data.get("channel") != channel:
                raise CheckpointError(f"{path} holds the checkpoint of channel {data.get('channel')!r}")
            confirmed, published = data["confirmed"], data.get("published", "")
            if not isinstance(confirmed, str) or not isinstance(published, str):
                raise TypeError("ids must be strings")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"{path} is not a forwarder checkpoint: {exc}") from exc
        timestamp = data.get("confirmed_timestamp", "")
        return Checkpoint(confirmed=confirmed, published=published or confirmed,
                          confirmed_timestamp=timestamp if isinstance(timestamp, str) else "")

    def save(self, channel: str, checkpoint: Checkpoint) -> None:
        """Replace the checkpoint of ``channel``, atomically and durably."""
        path = self.path(channel)
        body = json.dumps({"channel": channel, "confirmed": checkpoint.confirmed, "published": checkpoint.published,
                           "confirmed_timestamp": checkpoint.confirmed_timestamp}).encode()
        temporary = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(descriptor, body)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
