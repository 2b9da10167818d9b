"""The backup e-mail through a real SMTP server: `make run`'s catcher (scripts/smtp_catcher.py,
aiosmtpd) receives it over SMTP with its attachment, and the "Outbox (demo)" page shows it to
the tenant's admins only."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync_engine.appointments.models import DeliveryStatus, RoutingKind
from sync_engine.appointments.upload import route_file, routed_file_upload

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n% the contract\n%%EOF\n"


@pytest.fixture
def catcher(tmp_path, settings):
    folder = tmp_path / "outbox"
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "smtp_catcher.py"), "--port", "0", "--dir", str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not (folder / ".port").exists():
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the catcher did not start"
            time.sleep(0.05)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", int((folder / ".port").read_text())
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.COTHON_DEMO_OUTBOX_DIR = str(folder)
        yield folder
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_failed_upload_reaches_the_smtp_catcher_with_its_attachment(alice, bob, appointment, contract_rule, emulator_reset,
                                                                      catcher, web_as, client):
    appt, _ = appointment
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=400, error_code="FIELD_INTEGRITY_EXCEPTION",
                                    message="The record is locked")
    routed = route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=PDF, actor=alice.member, context={})
    routed = routed_file_upload(routed_file_id=routed.pk)
    assert routed.status == DeliveryStatus.FAILED and routed.backup_sent_at is not None

    [caught] = list(catcher.glob("*.eml"))
    message = email.message_from_bytes(caught.read_bytes(), policy=email.policy.default)
    assert sorted(a.strip() for a in message["To"].split(",")) == ["backup@alice.example", "office@alice.example"]
    assert "Larry Leap" in message["Subject"]
    assert "The record is locked" in message.get_body(preferencelist=("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".pdf") and attachment.get_content() == PDF

    web_as(alice.admin)
    page = client.get("/settings/integrations/outbox/").content.decode()
    assert "Larry Leap" in page and "The record is locked" in page and attachment.get_filename() in page
    web_as(bob.admin)
    page = client.get("/settings/integrations/outbox/").content.decode()
    assert "Larry Leap" not in page and "No e-mail caught yet" in page
    web_as(alice.member)
    assert client.get("/settings/integrations/outbox/").status_code == 403


def test_the_outbox_page_exists_only_with_the_demo_catcher(alice, web_as, settings):
    settings.COTHON_DEMO_OUTBOX_DIR = ""
    assert web_as(alice.admin).get("/settings/integrations/outbox/").status_code == 404


def test_the_nav_offers_the_outbox_to_admins_only_while_the_catcher_is_configured(alice, web_as, settings, tmp_path):
    settings.COTHON_DEMO_OUTBOX_DIR = str(tmp_path)
    assert "Outbox (demo)" in web_as(alice.admin).get("/opportunities/").content.decode()
    page = web_as(alice.admin).get("/settings/integrations/outbox/").content.decode()
    assert "No e-mail caught yet" in page
    assert "Outbox (demo)" not in web_as(alice.member).get("/opportunities/").content.decode()
    settings.COTHON_DEMO_OUTBOX_DIR = ""
    assert "Outbox (demo)" not in web_as(alice.admin).get("/opportunities/").content.decode()
