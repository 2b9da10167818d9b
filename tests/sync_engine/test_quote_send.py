"""Send to Salesforce (sync_engine/quotes/send.py) against the emulator's demo org: the
opportunity's Amount becomes the quote's total and the quote PDF lands on the opportunity as a
file; a second send adds a version of the same file; errors keep Salesforce's code and message
with a fix; what may not be sent is refused with nothing written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from proposals.quote_services import quote_line_update
from sync_engine.models import RecordType, SyncLink, SyncLog
from sync_engine.quotes import send as svc
from sync_engine.quotes.models import QuoteSend, QuoteSendStatus, QuoteSettings
from sync_engine.quotes.send_selectors import STALE_AFTER
from tests.proposals.quote_world import make_quote, quote_from_salesforce
from tests.proposals.test_quote_pdf import pdf_text

pytestmark = pytest.mark.emulator


@pytest.fixture
def sales(alice, connected, emulator_reset):
    """Alice's connected org with sending back on, and a quote of hers that came from a
    Salesforce opportunity."""
    return quote_from_salesforce(alice, connected, emulator_reset)


def _send(alice, quote, django_capture_on_commit_callbacks, *, run: bool = True) -> QuoteSend:
    """Request a send as a member; the task's enqueue is captured (not sent to a broker) and its
    one service call is made here, retries included."""
    with django_capture_on_commit_callbacks() as callbacks:
        send = svc.quote_send_request(tenant=alice.tenant, quote=quote, actor=alice.member)
    assert len(callbacks) == 1  # the task is enqueued after commit, once
    if run:
        while svc.quote_send_execute(send_id=send.pk) is not None:
            pass
    send.refresh_from_db()
    return send


def _files_on(emulator, opportunity_id: str) -> list[dict]:
    sf = emulator.sf()
    links = sf.query(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{opportunity_id}'")["records"]
    return links


def _versions(emulator, document_id: str) -> list[dict]:
    return emulator.sf().query("SELECT Id, VersionNumber, IsLatest, Title, PathOnClient, ContentSize FROM ContentVersion "
                               f"WHERE ContentDocumentId = '{document_id}' ORDER BY VersionNumber")["records"]


def _version_pdf(emulator, version_id: str) -> bytes:
    response = emulator.session().get(f"{emulator.api()}/sobjects/ContentVersion/{version_id}/VersionData")
    assert response.status_code == 200
    return response.content


def test_a_send_sets_the_opportunity_amount_to_the_quote_total_and_attaches_the_pdf(alice, sales, emulator_reset,
                                                                                    django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    send = _send(alice, quote, django_capture_on_commit_callbacks)

    assert send.status == QuoteSendStatus.SENT and send.error_code == ""
    assert send.amount == quote.total == Decimal("26753.89") and send.amount_updated
    assert send.requested_by == alice.member and send.finished_at and send.attempts == 1
    assert send.api_calls == 4  # Amount, the file look-up, the upload, the version read back
    opportunity = emulator_reset.sf().Opportunity.get(opportunity_id)
    assert Decimal(str(opportunity["Amount"])) == Decimal("26753.89")

    files = _files_on(emulator_reset, opportunity_id)
    assert [f["ContentDocumentId"] for f in files] == [send.content_document_id]
    [version] = _versions(emulator_reset, send.content_document_id)
    assert version["Id"] == send.content_version_id and version["VersionNumber"] == "1" and send.version_number == 1
    assert version["Title"] == f"Quote {quote.number} — {quote.title}" and version["PathOnClient"] == send.file_name
    text = " ".join(pdf_text(_version_pdf(emulator_reset, version["Id"])).split())
    assert quote.number in text and "Total CAD 26,753.89" in text

    log = SyncLog.objects.get(record_type=RecordType.QUOTE, record_id=quote.pk)
    assert (log.operation, log.result, log.salesforce_id, log.actor) == ("send", "success", opportunity_id, alice.member)
    assert "version 1" in log.error_message


def test_sending_again_adds_a_new_version_of_the_same_file_never_a_second_file(alice, sales, emulator_reset,
                                                                              django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    first = _send(alice, quote, django_capture_on_commit_callbacks)
    quote_line_update(tenant=alice.tenant, line=quote.line_items.first(), data={"quantity": Decimal("20")})
    quote.refresh_from_db()
    second = _send(alice, quote, django_capture_on_commit_callbacks)

    assert second.status == QuoteSendStatus.SENT and second.version_number == 2
    assert second.content_document_id == first.content_document_id
    assert second.content_version_id != first.content_version_id
    assert [f["ContentDocumentId"] for f in _files_on(emulator_reset, opportunity_id)] == [first.content_document_id]
    versions = _versions(emulator_reset, first.content_document_id)
    assert [(v["VersionNumber"], v["IsLatest"]) for v in versions] == [("1", False), ("2", True)]
    assert quote.total != first.amount and second.amount == quote.total
    assert Decimal(str(emulator_reset.sf().Opportunity.get(opportunity_id)["Amount"])) == quote.total
    latest = " ".join(pdf_text(_version_pdf(emulator_reset, second.content_version_id)).split())
    assert f"Total CAD {quote.total:,.2f}" in latest


def test_a_file_deleted_in_salesforce_is_attached_again_as_a_new_file(alice, sales, emulator_reset,
                                                                     django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    first = _send(alice, quote, django_capture_on_commit_callbacks)
    emulator_reset.session().delete(f"{emulator_reset.api()}/sobjects/ContentDocument/{first.content_document_id}")
    second = _send(alice, quote, django_capture_on_commit_callbacks)
    assert second.status == QuoteSendStatus.SENT and second.version_number == 1
    assert [f["ContentDocumentId"] for f in _files_on(emulator_reset, opportunity_id)] == [second.content_document_id]


def test_a_retried_send_finds_the_version_it_already_uploaded_and_does_not_upload_it_again(
        alice, sales, emulator_reset, django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    # The upload lands, then reading it back hits a lock: the retry must not upload a second copy.
    emulator_reset.client.add_fault(org="demo", object="ContentVersion", operation="read", status=400,
                                    error_code="UNABLE_TO_LOCK_ROW", message="unable to obtain exclusive access to this record",
                                    count=1)
    send = _send(alice, quote, django_capture_on_commit_callbacks, run=False)
    assert svc.quote_send_execute(send_id=send.pk) == svc.RETRY_DELAYS[0]
    send.refresh_from_db()
    assert send.status == QuoteSendStatus.RETRYING and send.error_code == "UNABLE_TO_LOCK_ROW" and send.next_attempt_at
    assert svc.quote_send_execute(send_id=send.pk) is None
    send.refresh_from_db()
    assert send.status == QuoteSendStatus.SENT and send.attempts == 2 and send.version_number == 1
    assert send.error_code == "" and send.error_hint == ""
    assert len(_versions(emulator_reset, send.content_document_id)) == 1
    assert list(SyncLog.objects.filter(record_id=quote.pk, record_type="quote").values_list("result", flat=True)
                .order_by("id")) == ["retrying", "success"]


def test_a_duplicate_task_message_finds_the_send_taken_and_does_nothing(alice, sales, django_capture_on_commit_callbacks):
    quote, _ = sales
    send = _send(alice, quote, django_capture_on_commit_callbacks)
    assert svc.quote_send_execute(send_id=send.pk) is None
    send.refresh_from_db()
    assert send.attempts == 1 and QuoteSend.objects.count() == 1


def test_lock_contention_is_retried_then_reported_with_its_code_cause_and_fix(alice, sales, emulator_reset,
                                                                              django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    emulator_reset.client.add_fault(org="demo", object="Opportunity", operation="update", status=400,
                                    error_code="UNABLE_TO_LOCK_ROW", message="unable to obtain exclusive access to this record")
    send = _send(alice, quote, django_capture_on_commit_callbacks, run=False)
    delays = [svc.quote_send_execute(send_id=send.pk) for _ in range(svc.MAX_ATTEMPTS)]
    assert delays == [2.0, 4.0, None]
    send.refresh_from_db()
    assert send.status == QuoteSendStatus.FAILED and send.attempts == svc.MAX_ATTEMPTS
    assert send.error_code == "UNABLE_TO_LOCK_ROW" and "exclusive access" in send.error_message
    assert "send again" in send.error_hint.lower() and not send.amount_updated and not send.content_version_id
    assert _files_on(emulator_reset, opportunity_id) == []


@pytest.mark.parametrize(("sobject", "operation", "code", "message", "amount_set"), [
    ("Opportunity", "update", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount changes need finance approval", False),
    ("ContentVersion", "create", "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", True),
])
def test_a_refusal_by_salesforce_fails_at_once_with_salesforces_code_and_message_and_a_fix(
        alice, sales, emulator_reset, django_capture_on_commit_callbacks, sobject, operation, code, message, amount_set):
    quote, opportunity_id = sales
    emulator_reset.client.add_fault(org="demo", object=sobject, operation=operation, status=400, error_code=code, message=message)
    send = _send(alice, quote, django_capture_on_commit_callbacks)
    assert send.status == QuoteSendStatus.FAILED and send.attempts == 1
    assert (send.error_code, send.error_message) == (code, message)
    assert send.error_hint == svc.SEND_HINTS[code]
    assert send.amount_updated is amount_set and not send.content_version_id
    assert _files_on(emulator_reset, opportunity_id) == []
    log = SyncLog.objects.get(record_type=RecordType.QUOTE, record_id=quote.pk)
    assert (log.result, log.error_code, log.hint) == ("failed", code, svc.SEND_HINTS[code])


def test_the_cothon_opportunitys_link_is_used_when_the_quote_has_none(alice, connected, emulator_reset, opportunity_factory,
                                                                     django_capture_on_commit_callbacks):
    from sync_engine.executor import push_connection

    QuoteSettings.objects.create(connection=connected, sync_back=True)
    opportunity = opportunity_factory(alice.tenant, title="Snow clearing, Gatineau depots")
    assert push_connection(connection_id=connected.pk).failed == 0
    opportunity_id = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk).salesforce_id
    quote = make_quote(alice.tenant, opportunity=opportunity)
    send = _send(alice, quote, django_capture_on_commit_callbacks)
    assert send.status == QuoteSendStatus.SENT and send.salesforce_id == opportunity_id
    assert [f["ContentDocumentId"] for f in _files_on(emulator_reset, opportunity_id)] == [send.content_document_id]


# --- refused: nothing written, nothing queued ---------------------------------------------------

def _refused(alice, quote, code, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(svc.SendRefused) as refused:
        svc.quote_send_request(tenant=alice.tenant, quote=quote, actor=alice.member)
    assert refused.value.code == code and callbacks == []
    return refused.value


def test_sending_back_turned_off_or_never_set_refuses_with_where_to_turn_it_on(alice, sales, django_capture_on_commit_callbacks):
    quote, _ = sales
    QuoteSettings.objects.update(sync_back=False)
    error = _refused(alice, quote, "sync_back_off", django_capture_on_commit_callbacks)
    assert "Settings › Integrations › Salesforce › Quotes" in error.messages[0]
    QuoteSettings.objects.all().delete()
    _refused(alice, quote, "sync_back_off", django_capture_on_commit_callbacks)
    assert not QuoteSend.objects.exists()


def test_a_quote_without_a_salesforce_opportunity_is_refused(alice, connected, django_capture_on_commit_callbacks):
    QuoteSettings.objects.create(connection=connected, sync_back=True)
    quote = make_quote(alice.tenant)
    error = _refused(alice, quote, "no_opportunity", django_capture_on_commit_callbacks)
    assert "no Salesforce opportunity" in error.messages[0] and not QuoteSend.objects.exists()


def test_a_connection_that_needs_a_reconnect_is_refused(alice, sales, django_capture_on_commit_callbacks):
    quote, _ = sales
    SalesforceConnection.objects.update(status=ConnectionStatus.NEEDS_RECONNECT)
    assert "reconnect" in _refused(alice, quote, "not_connected", django_capture_on_commit_callbacks).messages[0]


def test_one_send_at_a_time_per_quote_but_a_stale_one_no_longer_blocks(alice, sales, django_capture_on_commit_callbacks):
    quote, _ = sales
    first = _send(alice, quote, django_capture_on_commit_callbacks, run=False)
    _refused(alice, quote, "sending", django_capture_on_commit_callbacks)
    QuoteSend.objects.filter(pk=first.pk).update(updated_at=timezone.now() - STALE_AFTER - datetime.timedelta(seconds=1))
    second = _send(alice, quote, django_capture_on_commit_callbacks, run=False)
    first.refresh_from_db()
    assert first.status == QuoteSendStatus.FAILED and first.error_code == "SEND_INTERRUPTED" and first.error_hint
    assert second.status == QuoteSendStatus.QUEUED


def test_sending_back_turned_off_before_the_task_ran_fails_without_a_call(alice, sales, emulator_reset,
                                                                          django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    send = _send(alice, quote, django_capture_on_commit_callbacks, run=False)
    QuoteSettings.objects.update(sync_back=False)
    emulator_reset.client.reset_counters()
    assert svc.quote_send_execute(send_id=send.pk) is None
    send.refresh_from_db()
    assert send.status == QuoteSendStatus.FAILED and send.error_code == "SYNC_BACK_DISABLED" and send.api_calls == 0
    assert not any(c["count"] for c in emulator_reset.client.counters("demo")["counters"])


def test_another_tenants_quote_cannot_be_sent_through_this_tenant(alice, bob, sales):
    quote, _ = sales
    with pytest.raises(PermissionError):
        svc.quote_send_request(tenant=bob.tenant, quote=quote, actor=bob.member)
    assert not QuoteSend.objects.exists()


def test_an_org_the_governor_paused_is_not_called_and_the_send_says_why(alice, sales, emulator_reset, connected,
                                                                        django_capture_on_commit_callbacks):
    from sync_engine.governor import get_governor

    quote, _ = sales
    send = _send(alice, quote, django_capture_on_commit_callbacks, run=False)
    get_governor().pause(connected.pk, 600)
    emulator_reset.client.reset_counters()
    assert svc.quote_send_execute(send_id=send.pk) is None
    send.refresh_from_db()
    assert send.status == QuoteSendStatus.FAILED and send.error_code == "REQUEST_LIMIT_EXCEEDED" and send.api_calls == 0
    assert "allowance is used up" in send.error_message and send.error_hint == svc.SEND_HINTS["REQUEST_LIMIT_EXCEEDED"]
    assert not any(c["count"] for c in emulator_reset.client.counters("demo")["counters"])
