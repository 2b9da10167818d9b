"""A crash while connecting never puts the typed password into an error report (the mail to
ADMINS, a log, or a debug page), and no rendered page carries inline script."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter


pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TYPED = {"password": "Typed-Pa55word!", "security_token": "TOKEN-typed-123", "client_secret": "Secret-typed-456"}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def request_errors():
    handler = _Records()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def _report(record: logging.LogRecord) -> str:
    """What Django mails to ADMINS (and shows with DEBUG on) for this 500."""
    reporter = ExceptionReporter(record.request, *record.exc_info)
    return reporter.get_traceback_text() + reporter.get_traceback_html()


def _crash(*args, **kwargs):
    raise RuntimeError("an unexpected bug deep in the sign-in")


@pytest.fixture
def crash_after_the_token(monkeypatch, settings, fake_server):
    """Salesforce (a local stand-in) grants a token; then a bug strikes in the next call, with
    the typed credentials still in the callers' locals."""
    import json

    import requests

    settings.COTHON_ALLOW_LOOPBACK_SALESFORCE = True
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the stand-in speaks plain http
    fake_server.reply(200, json.dumps({"access_token": "tok", "instance_url": fake_server.url,
                                       "id": f"{fake_server.url}/id/00D000000000001AAA/005000000000001AAA"}), "application/json")
    monkeypatch.setattr(requests, "get", _crash)  # oauth.userinfo
    return fake_server.url


@pytest.mark.parametrize("method", ["password", "client_credentials"])
def test_a_500_during_connect_does_not_report_the_typed_credentials(method, alice, crash_after_the_token, request_errors):
    client = Client(raise_request_exception=False)
    client.force_login(alice.admin)
    response = client.post(reverse("integrations:connect"), {
        "name": "Prod", "environment": "custom", "login_url": crash_after_the_token, "auth_method": method, "client_id": "app-id",
        "username": "admin@example.com", **TYPED})
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    for value in TYPED.values():
        assert value not in response.content.decode()
    report = _report(request_errors[-1])
    assert "an unexpected bug deep in the sign-in" in report  # it is the report of this crash
    for value in TYPED.values():
        assert value not in report
    assert "********************" in report


def test_a_500_during_reconnect_does_not_report_the_typed_password(alice, settings, crash_after_the_token, request_errors):
    from integrations.crypto import encrypt_token
    from integrations.models import SalesforceConnection

    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Prod", login_url=crash_after_the_token, auth_method="password",
        client_id="app-id", client_secret_encrypted=encrypt_token(TYPED["client_secret"]), username="admin@example.com", password_encrypted=encrypt_token("old"), status="needs_reconnect")
    client = Client(raise_request_exception=False)
    client.force_login(alice.admin)
    response = client.post(reverse("integrations:reconnect", args=[connection.pk]),
                           {"username": "admin@example.com", "password": TYPED["password"], "security_token": TYPED["security_token"]})
    assert response.status_code == 500
    report = _report(request_errors[-1])
    assert TYPED["password"] not in report and TYPED["security_token"] not in report


# --- no inline script anywhere (the Content-Security-Policy allows none) ----------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on (evaluated as script)"),
    (re.compile(r"""hx-trigger=["'][^"']*\[""", re.I), "htmx event filter (needs eval)"),
    (re.compile(r"""hx-(vals|vars)=["']\s*(js|javascript):""", re.I), "hx-vals js: (eval)"),
    (re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I), "on* event attribute"),
    (re.compile(r"""(href|src|action)=["']\s*javascript:""", re.I), "javascript: URL"),
]


def _templates() -> list[Path]:
    found = list((ROOT / "templates").rglob("*.html"))
    for app in ("cothon", "opportunities", "proposals", "integrations", "sync_engine"):
        found += list((ROOT / app).rglob("templates/**/*.html"))
    return [path for path in found if path.name != "proposal_pdf.html"]  # rendered to PDF, never served


def test_no_template_carries_inline_script():
    problems = []
    for path in _templates():
        text = path.read_text()
        for pattern, what in INLINE:
            if pattern.search(text):
                problems.append(f"{path.relative_to(ROOT)}: {what}")
    assert not problems, problems


def test_htmx_runs_without_eval():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"allowEval": false' in base


def test_a_csrf_failure_is_the_branded_page(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.admin)
    response = client.post(reverse("integrations:connect"), {"name": "x"})
    html = response.content.decode()
    assert response.status_code == 403 and "This form has expired" in html
    assert "CSRF_FAILURE_VIEW" not in html and "Help" not in html
