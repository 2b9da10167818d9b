"""Send to Salesforce (the 001 seed's "send the quoted sum and PDF back to Salesforce").

A person asks (`quote_send_request`): the quote must belong to a Salesforce opportunity (its own
link, or its Cothon opportunity's link), the connection must be connected and its quote settings
must allow sending back (`QuoteSettings.sync_back`). A `QuoteSend` row is written and a task on
the real-time queue does the work after commit (`quote_send_run`), so the page never waits on
Salesforce (docs/architecture.md: the web process makes no Salesforce call while handling a
save) and polls the row instead.

The work (`quote_send_execute`), each call through the one client layer:
1. the opportunity's Amount ← the quote's total (PATCH; one call);
2. the quote PDF (proposals.quote_pdf) as a file on the opportunity: one query finds the quote's
   file by its key prefix (integrations.mapping.file), then ONE file ever — the first send
   creates it linked to the opportunity (FirstPublishLocationId), every later send adds a new
   version of the same ContentDocument — and a retry of the same send that finds its own
   version already there does not upload it again;
3. the new version's ContentDocumentId and VersionNumber are read back (one call).
Four calls a send. Lock contention and other retryable errors are tried again up to
MAX_ATTEMPTS times (2 s, 4 s later) by re-sending the task; everything else fails at once with
Salesforce's code and message and a fix a person can act on (SEND_HINTS, else the product's
hint catalogue in integrations/salesforce/errors.py). Each outcome is also a SyncLog row."""

from __future__ import annotations

import datetime
import logging
import time

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cothon.models import Tenant
from integrations.connections import client_for
from integrations.mapping import file as file_mapping
from integrations.salesforce.errors import HINTS, SalesforceError
from integrations.salesforce.soql import soql_quote
from proposals.models import Quote
from proposals.pdf import PdfRenderingUnavailable
from proposals.quote_pdf import quote_pdf_filename, render_quote_pdf
from sync_engine import wakeups
from sync_engine.governor import get_governor
from sync_engine.models import SyncDirection, SyncLog, SyncResult
from sync_engine.quotes.models import IN_FLIGHT_SEND_STATUSES, QuoteSend, QuoteSendStatus, QuoteSettings
from sync_engine.quotes.send_selectors import SYNC_BACK_WHERE, quote_send_target, send_is_stale
from sync_engine.vocabulary import Priority, RecordType

logger = logging.getLogger(__name__)

TASK_NAME = "sync_quotes.quote_send"
QUEUE = "realtime"
MAX_ATTEMPTS = 3
CALLS_PER_SEND = 4
RETRY_DELAYS = (2.0, 4.0)
# Where the send's fix differs from the product-wide hint (which speaks of the push).
SEND_HINTS: dict[str, str] = {
    "UNABLE_TO_LOCK_ROW": "Another process (a flow, an import, someone's edit) held the opportunity in Salesforce while "
                          f"Cothon tried {MAX_ATTEMPTS} times. Wait a minute and send again.",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "A validation rule on the opportunity rejected the change (its message is above). "
                                         "Change the quote so it passes, or ask your Salesforce admin to adjust the rule "
                                         "(Setup › Object Manager › Opportunity › Validation Rules), then send again.",
    "INSUFFICIENT_ACCESS_OR_READONLY": "The integration user may not edit this opportunity or add files to it. Give its "
                                       "profile Edit on Opportunity (and the Amount field) and Create on Content Version, "
                                       "and access to this opportunity's record, then send again.",
    "INSUFFICIENT_ACCESS": "The integration user may not edit this opportunity or add files to it. Give its profile Edit on "
                           "Opportunity (and the Amount field) and Create on Content Version, then send again.",
    "ENTITY_IS_DELETED": "The opportunity was deleted in Salesforce. Restore it from the Recycle Bin, or link the quote's "
                         "opportunity to another Salesforce record, then send again.",
    "NOT_FOUND": "The opportunity no longer exists in Salesforce (deleted?). Restore it or re-link the opportunity, then send again.",
    "REQUEST_LIMIT_EXCEEDED": "The org's daily API allowance is used up. Send again once capacity returns (the Sync page "
                              "shows when).",
    "PDF_UNAVAILABLE": "The server cannot make PDFs (a system library is missing); an administrator must install it.",
    "CONNECTION_NOT_USABLE": "An admin must reconnect the Salesforce connection (Settings › Integrations), then send again.",
    "SYNC_BACK_DISABLED": SYNC_BACK_WHERE,
    "SEND_INTERRUPTED": "The worker stopped before the send finished. Send again: the file gets a new version, never a copy.",
}


class SendRefused(ValidationError):
    """The quote cannot be sent now. `code`: no_opportunity, not_connected, sync_back_off, sending."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)
        self.code = code


def quote_send_request(*, tenant: Tenant, quote: Quote, actor: AbstractBaseUser | None) -> QuoteSend:
    """Queue a Send to Salesforce of the quote (the task starts after commit). Refused with a
    SendRefused when the quote has no opportunity in Salesforce, the connection cannot be used,
    sending back is off, or a send of this quote is already under way."""
    if quote.tenant_id != tenant.pk:
        raise PermissionError(f"Quote {quote.pk} does not belong to tenant {tenant.pk}")
    target = quote_send_target(tenant=tenant, quote=quote)
    if not target.enabled:
        raise SendRefused(target.refusal, target.code)
    now = timezone.now()
    with transaction.atomic():
        for old in QuoteSend.objects.select_for_update().filter(quote=quote, status__in=IN_FLIGHT_SEND_STATUSES):
            if not send_is_stale(old, now):
                raise SendRefused("This quote is being sent to Salesforce already; wait for the result.", "sending")
            _finish(old, status=QuoteSendStatus.FAILED, code="SEND_INTERRUPTED",
                    message="The send stopped before it finished (its worker was stopped).")
        try:
            with transaction.atomic():
                send = QuoteSend.objects.create(
                    tenant=tenant, quote=quote, connection=target.link.connection, sobject=target.link.sobject,
                    salesforce_id=target.link.salesforce_id, currency=quote.currency, amount=quote.total,
                    file_name=quote_pdf_filename(quote), requested_by=actor)
        except IntegrityError as exc:  # another request queued one between the check and the insert
            raise SendRefused("This quote is being sent to Salesforce already; wait for the result.", "sending") from exc
        send_id = send.pk
        transaction.on_commit(lambda: _enqueue(send_id))
    return send


def _enqueue(send_id: int, countdown: float | None = None) -> None:
    try:
        wakeups.send_named(TASK_NAME, args=[send_id], queue=QUEUE, countdown=countdown)
    except Exception:  # noqa: BLE001 - the row stays in flight and turns stale; a new send is allowed then
        logger.warning("Could not enqueue Send to Salesforce %s", send_id, exc_info=True)


def quote_send_run(*, send_id: int) -> None:
    """The task's one call: do the send; re-send the task for a short retry when one is due."""
    delay = quote_send_execute(send_id=send_id)
    if delay is not None:
        _enqueue(send_id, countdown=delay)


def _claim(send_id: int) -> QuoteSend | None:
    """Take the queued (or due retrying) send: a duplicate message finds it taken and does nothing."""
    with transaction.atomic():
        send = (QuoteSend.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=send_id, status__in=(
            QuoteSendStatus.QUEUED, QuoteSendStatus.RETRYING)).select_related("connection").first())
        if send is None:
            return None
        send.status, send.attempts, send.next_attempt_at = QuoteSendStatus.SENDING, send.attempts + 1, None
        send.started_at = send.started_at or timezone.now()
        send.save(update_fields=["status", "attempts", "next_attempt_at", "started_at", "updated_at"])
        return send


def quote_send_execute(*, send_id: int) -> float | None:
    """One attempt of a queued send. Returns the seconds after which to try again (a
    retryable error with attempts left), else None (sent, failed, or nothing to do)."""
    send = _claim(send_id)
    if send is None:
        return None
    quote = (Quote.objects.filter(tenant_id=send.tenant_id, pk=send.quote_id)
             .select_related("tenant", "company", "person", "owner", "opportunity").prefetch_related("line_items").first())
    connection = send.connection
    calls = 0

    def count(_record) -> None:
        nonlocal calls
        calls += 1

    started = time.monotonic()
    try:
        if quote is None or connection is None:
            raise SalesforceError("NOT_FOUND", "The quote or its Salesforce connection was deleted before the send ran.")
        settings = QuoteSettings.objects.filter(connection=connection).first()
        if settings is None or not settings.sync_back:
            raise SalesforceError("SYNC_BACK_DISABLED", "Sending quotes back to Salesforce was turned off before the send ran.")
        send.amount, send.currency, send.file_name = quote.total, quote.currency, quote_pdf_filename(quote)
        # A person's action may spend the reserve (manual priority), but not an allowance the
        # governor knows is used up: say so at once instead of spending calls on refusals.
        admission = get_governor().admit(connection.pk, Priority.MANUAL, cost=CALLS_PER_SEND)
        if not admission.allowed:
            raise SalesforceError("REQUEST_LIMIT_EXCEEDED", f"Not sent: {admission.reason} (about "
                                  f"{max(1, round(admission.wait_seconds / 60))} min until the next capacity check).")
        try:
            pdf = render_quote_pdf(quote)
        except PdfRenderingUnavailable as exc:
            raise SalesforceError("PDF_UNAVAILABLE", str(exc)) from exc
        client = client_for(connection, on_call=count)
        client.rest("PATCH", f"sobjects/{send.sobject}/{send.salesforce_id}", json={"Amount": float(quote.total)})
        send.amount_updated = True
        version_id = _upload(client, quote, send, pdf)
        version = client.rest("GET", f"sobjects/ContentVersion/{version_id}", params={"fields": "ContentDocumentId,VersionNumber"})
    except SalesforceError as exc:
        send.api_calls += calls
        return _failed(send, quote, exc, duration_ms=int((time.monotonic() - started) * 1000))
    send.api_calls += calls
    send.content_version_id = version_id
    send.content_document_id = version.get("ContentDocumentId") or ""
    send.version_number = _int(version.get("VersionNumber"))
    _finish(send, status=QuoteSendStatus.SENT)
    _log(send, quote, SyncResult.SUCCESS, duration_ms=int((time.monotonic() - started) * 1000))
    return None


def _upload(client, quote: Quote, send: QuoteSend, pdf: bytes) -> str:
    """The PDF as the quote's file on the opportunity; the id of the ContentVersion."""
    key = file_mapping.quote_file_key(quote, send.pk)
    prefix = file_mapping.quote_file_key_prefix(quote)
    found = client.query(f"SELECT Id, ContentDocumentId, VersionNumber, {file_mapping.KEY_FIELD} FROM ContentVersion "
                         f"WHERE {file_mapping.KEY_FIELD} LIKE {soql_quote(prefix + '%')} ORDER BY CreatedDate DESC LIMIT 200")
    versions = found.get("records", [])
    for version in versions:
        if version.get(file_mapping.KEY_FIELD) == key:  # this send's own version landed before a retry
            return version["Id"]
    # Deleted files' versions are not returned, so a file removed in Salesforce is created again.
    latest = max(versions, key=lambda v: _int(v.get("VersionNumber")) or 0, default=None)
    payload = file_mapping.quote_to_salesforce(
        quote, send_id=send.pk, file_name=send.file_name, data=pdf,
        parent_id="" if latest else send.salesforce_id, document_id=latest["ContentDocumentId"] if latest else "")
    return client.rest("POST", "sobjects/ContentVersion", json=payload)["id"]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _failed(send: QuoteSend, quote: Quote | None, error: SalesforceError, *, duration_ms: int) -> float | None:
    if error.retryable and send.attempts < MAX_ATTEMPTS:
        delay = RETRY_DELAYS[min(send.attempts - 1, len(RETRY_DELAYS) - 1)]
        send.status, send.next_attempt_at = QuoteSendStatus.RETRYING, timezone.now() + datetime.timedelta(seconds=delay)
        send.error_code, send.error_message, send.error_hint = error.code, error.message[:4000], _hint(error.code, error)
        send.save()
        _log(send, quote, SyncResult.RETRYING, duration_ms=duration_ms, error=error)
        return delay
    _finish(send, status=QuoteSendStatus.FAILED, code=error.code, message=error.message, hint=_hint(error.code, error))
    _log(send, quote, SyncResult.FAILED, duration_ms=duration_ms, error=error)
    return None


def _hint(code: str, error: SalesforceError | None = None) -> str:
    if code in SEND_HINTS:
        return SEND_HINTS[code]
    if code in HINTS:
        return HINTS[code]
    return error.hint if error is not None else ""


def _finish(send: QuoteSend, *, status: str, code: str = "", message: str = "", hint: str = "") -> None:
    send.status, send.finished_at, send.next_attempt_at = status, timezone.now(), None
    send.error_code, send.error_message, send.error_hint = code, message[:4000], hint or (_hint(code) if code else "")
    send.save()


def _log(send: QuoteSend, quote: Quote | None, result: str, *, duration_ms: int, error: SalesforceError | None = None) -> None:
    if send.connection_id is None:
        return
    label = f"{quote.number} {quote.title}" if quote is not None else f"Quote #{send.quote_id}"
    SyncLog.objects.create(
        tenant_id=send.tenant_id, connection_id=send.connection_id, record_type=RecordType.QUOTE, record_id=send.quote_id,
        record_label=label[:255], sobject=send.sobject, salesforce_id=send.salesforce_id, direction=SyncDirection.PUSH,
        operation="send", result=result, error_code=error.code if error else "",
        error_message=(error.message if error else _sent_text(send))[:4000], hint=send.error_hint if error else "",
        retries=max(send.attempts - 1, 0), attempts=send.attempts, queued_at=send.requested_at, duration_ms=duration_ms, api_calls=min(send.api_calls, 32767),
        actor=send.requested_by)


def _sent_text(send: QuoteSend) -> str:
    return f"Amount set to {send.currency} {send.amount:,.2f}; PDF {send.file_name} attached as version {send.version_number}."
