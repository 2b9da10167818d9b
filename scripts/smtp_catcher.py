"""`make run`'s local SMTP catcher: an aiosmtpd server on 127.0.0.1 that accepts every message
and writes it, as received, to one .eml file in a folder (written to a hidden temp file and
renamed into place, so a reader never sees half a message). Nothing is relayed: the demo's
backup e-mails never leave the machine, and the "Outbox (demo)" page reads the folder.

    python scripts/smtp_catcher.py --port 1025 --dir var/outbox

Runs until SIGTERM or SIGINT. `--port 0` picks a free port; the port in use is written to
`<dir>/.port` once the server listens (tests use that)."""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

_counter = itertools.count(1)


class FolderHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{next(_counter):06d}.eml"
        temp = self.folder / f".{name}.tmp"
        temp.write_bytes(content)
        temp.chmod(0o600)
        temp.rename(self.folder / name)
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    # aiosmtpd's Controller checks its server by connecting to the port it was given, so it
    # cannot take port 0 itself: ask the OS for a free one first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", required=True, help="folder for the caught messages (.eml)")
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)

    # Loopback only: the catcher accepts anything from anyone who can reach it.
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        parser.error("the catcher listens on loopback only")
    port = args.port or _free_port(args.host)
    controller = Controller(FolderHandler(folder), hostname=args.host, port=port)
    controller.start()
    (folder / ".port").write_text(str(port))
    print(f"SMTP catcher listening on {args.host}:{port}, writing to {folder}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
