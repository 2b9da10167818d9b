"""The two servers: HTTPS (API; certificate from a local CA kept in the data dir) and a
loopback HTTP port with the same routes (browser pages without certificate warnings)."""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import threading
import time
from pathlib import Path

import trustme
from werkzeug.serving import make_server

from .app import EmulatorApp
from .orgdef import load_all
from .runtime import Emulator


def load_or_create_ca(data_dir: Path) -> trustme.CA:
    """Reuse the CA across restarts so clients that trust ca.pem keep trusting us."""
    cert_path, key_path = data_dir / "ca.pem", data_dir / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    ca = trustme.CA(organization_name="Salesforce Emulator Local CA")
    key_path.write_bytes(ca.private_key_pem.bytes())
    key_path.chmod(0o600)
    cert_path.write_bytes(ca.cert_pem.bytes())
    return ca


def ssl_context(ca: trustme.CA) -> ssl.SSLContext:
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


class Servers:
    def __init__(self, host: str, port: int, http_port: int, data_dir: Path,
                 org_files: list[str] | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.emu = Emulator(self.data_dir, load_all(org_files))
        self.app = EmulatorApp(self.emu)
        ca = load_or_create_ca(self.data_dir)
        self.https = make_server(host, port, self.app, threaded=True,
                                 ssl_context=ssl_context(ca))
        self.http = make_server(host, http_port, self.app, threaded=True)
        shown = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0", "localhost") else host
        self.emu.instance_url = f"https://{shown}:{self.https.server_port}"
        self.emu.http_url = f"http://{shown}:{self.http.server_port}"
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def runtime_info(self) -> dict:
        return {"pid": os.getpid(), "instance_url": self.emu.instance_url,
                "http_url": self.emu.http_url, "https_port": self.https.server_port,
                "http_port": self.http.server_port, "ca_bundle": str(self.data_dir / "ca.pem"),
                "data_dir": str(self.data_dir.resolve()), "admin_key_file":
                str(self.data_dir / "admin_key"), "started_at": time.time()}

    def start(self) -> None:
        for server in (self.https, self.http):
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            self._threads.append(thread)
        persister = threading.Thread(target=self._persist_loop, daemon=True)
        persister.start()
        self.app.start_workers()
        path = self.data_dir / "runtime.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.runtime_info(), indent=2))
        tmp.replace(path)

    def _persist_loop(self) -> None:
        while not self._stop.wait(5):
            try:
                self.emu.persist()
            except Exception:  # noqa: BLE001 - never kill the server over bookkeeping
                logging.exception("could not persist usage")

    def stop(self) -> None:
        self._stop.set()
        for server in (self.https, self.http):
            server.shutdown()
        self.app.stop_workers()
        self.emu.persist()

    def wait(self) -> None:
        done = threading.Event()

        def handler(_signum, _frame):
            done.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        while not done.wait(1):
            pass
        self.stop()
