"""Alerts fixtures: a connected connection, and a webhook receiver on loopback (http.server in a
thread) that records every request and answers the status the test sets."""

from __future__ import annotations

import http.server
import socket
import threading
from dataclasses import dataclass, field

import pytest

from integrations.models import ConnectionStatus, SalesforceConnection


@pytest.fixture
def connection(alice):
    return SalesforceConnection.objects.create(tenant=alice.tenant, name="Production org", login_url="https://login.salesforce.com",
                                               status=ConnectionStatus.CONNECTED)


@dataclass
class Receiver:
    url: str
    status: int = 204
    requests: list[dict] = field(default_factory=list)


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "answered": state.status})
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/cothon"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def private_webhooks(settings):
    settings.COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS = True
