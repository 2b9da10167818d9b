"""The embedded stack's broker: kombu's filesystem transport, made safe for several processes.

`make run` has no broker server: web, workers and beat share one folder of message files
(kombu's filesystem transport). Stock kombu (kombu/transport/filesystem.py) writes a message file
in place, so a worker polling the folder can take a half-written file; `json.loads` then raises
inside `Channel._get`, which is not an error Celery's consumer recovers from, and the worker's
main process dies (issue #15). This transport:

- writes every message, and every exchange table, to a hidden temp file in the same folder and
  renames it into place (`os.replace` is atomic within a filesystem), so a reader sees a whole
  file or none; the reader's name filter never matches a temp file's name;
- claims a message by renaming it inside its own folder, so two consumers never both take one
  (the loser gets FileNotFoundError and moves on); kombu moves it to the system temp folder,
  which is a copy, not a rename, when /tmp is another filesystem;
- logs a file that cannot be read or is not a kombu message, moves it to `bad_folder` (or
  deletes it) and goes on to the next message: one bad file never stops a worker;
- reports an unreadable queue folder as a connection error, which Celery's consumer answers by
  reconnecting with backoff instead of exiting.

Importing this module registers the URL scheme `cothonfs://` with kombu (kombu refuses import
paths in URL schemes); settings.py imports it and sets CELERY_BROKER_URL = "cothonfs://".
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

CLAIM_SUFFIX = ".claimed"
TRANSPORT_ALIAS = "cothonfs"


def write_atomically(folder: str | os.PathLike, name: str, data: bytes) -> None:
    """Write `folder/name` so that no reader ever sees it half-written.

    The temp name starts with a dot and ends in `.tmp`: kombu's reader only takes names whose
    part after the first dot is `<queue>.msg`, so it never picks up a temp file. mkstemp
    creates the file 0600: messages can name tenants and records."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


class Channel(filesystem.Channel):
    """kombu's filesystem channel with atomic writes and a reader that skips bad files."""

    @cached_property
    def bad_folder(self) -> str:
        default = os.path.join(os.path.dirname(os.path.abspath(self.data_folder_in)), "bad")
        return self.transport_options.get("bad_folder", default)

    # --- messages --------------------------------------------------------------------------

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        try:
            write_atomically(self.data_folder_out, name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out}") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        folder = self.data_folder_in
        # An OSError here (the folder is gone or unreadable) propagates: Transport lists OSError
        # among its connection errors, so the consumer reconnects instead of dying.
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(folder, f".{name}{CLAIM_SUFFIX}")
            try:
                os.rename(os.path.join(folder, name), claimed)
            except FileNotFoundError:
                continue  # another consumer took it between listdir and now
            except OSError as exc:
                logger.warning("Broker message %s could not be claimed (%s); skipped.", name, exc)
                continue
            payload = self._read_claimed(claimed, name)
            if payload is not None:
                return payload
        raise Empty()

    def _read_claimed(self, claimed: str, name: str) -> dict | None:
        """The message in a file this channel has claimed, or None when it cannot be used."""
        try:
            with open(claimed, "rb") as f:
                raw = f.read()
        except OSError as exc:
            logger.warning("Broker message %s vanished or could not be read (%s); skipped.", name, exc)
            with suppress(OSError):
                os.unlink(claimed)
            return None
        try:
            payload = loads(bytes_to_str(raw))
            # Build the message the consumer will build, so a file that is JSON but not a
            # kombu message fails here, where it is skipped, not inside Celery's event loop.
            self.Message(payload, channel=self)
        except Exception as exc:  # noqa: BLE001 - any defect in one file must only skip that file
            self._set_aside(claimed, name, exc)
            return None
        try:
            if self.store_processed:
                os.replace(claimed, os.path.join(self.processed_folder, name))
            else:
                os.unlink(claimed)
        except OSError as exc:
            logger.warning("Broker message %s was read but its file could not be removed (%s).", name, exc)
        return payload

    def _set_aside(self, claimed: str, name: str, exc: Exception) -> None:
        try:
            os.makedirs(self.bad_folder, exist_ok=True)
            target = os.path.join(self.bad_folder, name)
            os.replace(claimed, target)
        except OSError:
            with suppress(OSError):
                os.unlink(claimed)
            target = "nowhere (deleted)"
        logger.warning("Broker message %s is not a readable message (%s: %.200s); moved to %s and skipped.",
                       name, type(exc).__name__, exc, target)

    # --- exchange tables (control folder) --------------------------------------------------

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        try:
            return [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(raw))]
        except Exception as exc:  # noqa: BLE001 - a damaged table is rebuilt by the next bind
            logger.warning("Exchange table %s is not readable (%s); treating it as empty.", file, exc)
            return []

    @contextmanager
    def _table_lock(self, file: Path) -> Iterator[None]:
        """Serialise read-modify-write of one exchange table across processes. Readers need no
        lock: the table file is only ever replaced whole."""
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(file.with_name(f".{file.name}.lock"), "a") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _write_table(self, file: Path, table: list) -> None:
        try:
            write_atomically(file.parent, file.name, str_to_bytes(dumps(table)))
        except OSError as exc:
            raise ChannelError(f"Cannot write {file}") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        file = self._exchange_file(exchange)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(file):
            table = self.get_table(exchange)
            if entry not in table:
                table.insert(0, entry)
                self._write_table(file, table)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        # Purge as every virtual channel does; the table update is ours (kombu's rewrites in place).
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        file = self._exchange_file(exchange)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(file):
            table = self.get_table(exchange)
            if entry in table:
                table.remove(entry)
                self._write_table(file, table)


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above."""

    Channel = Channel
    # An unreadable queue folder is a lost broker, not a bug: Celery's consumer reconnects on
    # connection errors and exits on anything else.
    connection_errors = filesystem.Transport.connection_errors + (OSError,)


TRANSPORT_ALIASES.setdefault(TRANSPORT_ALIAS, f"{__name__}:Transport")
