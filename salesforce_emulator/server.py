"""The two servers: HTTPS (API; certificate from a local CA kept in the data dir) and a
loopback HTTP port with the same routes (browser pages without certificate warnings)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import ssl
import threading
import time
from pathlib import Path

import trustme
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

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


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler ends every response with "Connection: close", so each API call cost
    a new TCP connection, a TLS handshake on both sides and a thread. Salesforce keeps
    connections alive, and so does this handler when a request's body has a known length:
    what the app leaves unread of it is read here (up to DRAIN_MAX bytes), and the connection
    waits for the next request. A chunked body, a client asking for "close" or an HTTP/1.0
    client: the connection closes after the response, as before."""

    timeout = 60  # seconds a kept-alive connection waits for its next request
    # Headers and body go out as separate writes: without TCP_NODELAY, the body of a response on
    # a kept-alive connection waits for the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    DRAIN_MAX = 1 << 20
    _body: LimitedStream | None = None  # this request's body, when the connection is kept

    def run_wsgi(self) -> None:
        self._body = None
        length = self._content_length()
        if self.close_connection or length is None:
            super().run_wsgi()
            return
        real = self.rfile
        self._body = LimitedStream(real, length)
        # After the response werkzeug discards whatever the socket has to read (it assumes the
        # connection closes): that would be the next request. It reads through self.rfile.
        self.rfile = _NOTHING
        try:
            super().run_wsgi()
        finally:
            self.rfile = real
        if not self.close_connection and not self._drained():
            self.close_connection = True

    def make_environ(self) -> dict:
        environ = super().make_environ()
        if self._body is not None:
            environ["wsgi.input"] = self._body
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if self._body is not None and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)

    def _content_length(self) -> int | None:
        """The body's length; None when it is chunked or the header is unreadable."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return None

    def _drained(self) -> bool:
        body = self._body
        if body is None or body.limit - body.tell() > self.DRAIN_MAX:
            return False
        try:
            body.exhaust()
        except (OSError, ValueError, ClientDisconnected):
            return False
        return body.is_exhausted


class _Nothing(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return 0


_NOTHING = _Nothing()


class Servers:
    def __init__(self, host: str, port: int, http_port: int, data_dir: Path,
                 org_files: list[str] | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.emu = Emulator(self.data_dir, load_all(org_files))
        self.app = EmulatorApp(self.emu)
        ca = load_or_create_ca(self.data_dir)
        self.https = make_server(host, port, self.app, threaded=True, request_handler=KeepAliveHandler,
                                 ssl_context=ssl_context(ca))
        self.http = make_server(host, http_port, self.app, threaded=True, request_handler=KeepAliveHandler)
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
