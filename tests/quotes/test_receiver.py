"""The quote receiver: the "Cothon integration" Outbound Message stored before the Ack and
processed after commit into one quote per opportunity — whatever replays, retries or
concurrent workers do; another org's or malformed messages refused with nothing written."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from proposals.models import Quote
from sync_engine.models import SyncLink, SyncLog
from sync_engine.pull.outbound import receiver_path as pull_receiver_path
from sync_engine.quotes import inbound
from sync_engine.quotes.inbound import quote_notifications_process, quote_notifications_sweep
from sync_engine.quotes.models import QuoteNotification
from sync_engine.quotes.receiver import receiver_path, receiver_token
from tests.pull.test_outbound_receiver import soap
from tests.quotes.conftest import contact_id, make_opportunity

pytestmark = pytest.mark.django_db


def post(client, connection, body: bytes, path: str | None = None):
    return client.post(path or receiver_path(connection), data=body, content_type="text/xml; charset=utf-8")


def message(connection, opportunity_id: str, note_id: str = "04l000000000001AAA", org_id: str | None = None) -> bytes:
    return soap(org_id or connection.org_id, [(note_id, {"Id": opportunity_id, "Name": "Translation services, PSPC",
                                                         "StageName": "Proposal", "Amount": "25000.0"})])


def test_the_receiver_url_is_the_contracts(connected):
    assert receiver_path(connected) == f"/integrations/salesforce/quotes/{receiver_token(connected)}/"


def test_a_notification_is_stored_acknowledged_then_made_into_a_quote(client, alice, connected, quote_settings, sf,
                                                                      django_capture_on_commit_callbacks):
    opportunity = make_opportunity(sf, stage="Proposal", contact=contact_id(sf))
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, connected, message(connected, opportunity))
    assert response.status_code == 200 and b"<Ack>true</Ack>" in response.content
    row = QuoteNotification.objects.get(connection=connected)
    assert row.processed_at is None and row.salesforce_id == opportunity and row.fields["StageName"] == "Proposal"
    assert len(callbacks) == 1  # the processing task, sent after commit
    assert not Quote.objects.exists()

    assert quote_notifications_process(connection_id=connected.pk) == 1
    quote = Quote.objects.get(tenant=alice.tenant)
    assert (quote.title, quote.status, quote.owner) == ("Translation services, PSPC", "scoping", alice.member)
    assert quote.company.name == "Public Services and Procurement Canada"
    assert quote.company.related_user == alice.member
    assert (quote.person.first_name, quote.person.last_name, quote.person.email) == ("Morgan", "Buyer", "morgan.buyer@example.com")
    assert quote.person.related_user == alice.member and quote.person.department == quote.company
    link = SyncLink.objects.get(connection=connected, record_type="quote")
    assert (link.record_id, link.sobject, link.salesforce_id) == (quote.pk, "Opportunity", opportunity)
    row.refresh_from_db()
    assert (row.result, row.quote_id) == ("created", quote.pk) and row.processed_at
    log = SyncLog.objects.get(connection=connected, record_type="quote")
    assert (log.operation, log.result, log.direction, log.record_id) == ("create", "success", "pull", quote.pk)
    assert "company Public Services and Procurement Canada (created)" in log.error_message  # no department existed
    assert log.api_calls >= 1


def test_a_replayed_message_is_acknowledged_and_makes_no_second_quote(client, alice, connected, quote_settings, sf):
    opportunity = make_opportunity(sf, stage="Proposal")
    body = message(connected, opportunity)
    assert post(client, connected, body).status_code == 200
    quote_notifications_process(connection_id=connected.pk)
    assert post(client, connected, body).status_code == 200  # Salesforce retried: same notification id
    assert QuoteNotification.objects.filter(connection=connected).count() == 1
    assert quote_notifications_process(connection_id=connected.pk) == 0
    assert Quote.objects.filter(tenant=alice.tenant).count() == 1


def test_the_flow_firing_again_for_the_same_opportunity_makes_no_second_quote(client, alice, connected, quote_settings, sf):
    opportunity = make_opportunity(sf, stage="Proposal")
    post(client, connected, message(connected, opportunity, "04l000000000001AAA"))
    quote_notifications_process(connection_id=connected.pk)
    # The stage moved away and back: a new notification (new id) of the same opportunity.
    post(client, connected, message(connected, opportunity, "04l000000000002AAA"))
    quote_notifications_process(connection_id=connected.pk)
    assert Quote.objects.filter(tenant=alice.tenant).count() == 1
    second = QuoteNotification.objects.get(notification_id="04l000000000002AAA")
    assert second.result == "existing" and second.quote_id == Quote.objects.get().pk
    skipped = SyncLog.objects.get(connection=connected, record_type="quote", operation="skip")
    assert skipped.error_code == "ALREADY_QUOTED" and skipped.record_id == second.quote_id


def test_a_quote_deleted_in_cothon_is_not_made_again(client, alice, connected, quote_settings, sf):
    opportunity = make_opportunity(sf, stage="Proposal")
    post(client, connected, message(connected, opportunity, "04l000000000001AAA"))
    quote_notifications_process(connection_id=connected.pk)
    Quote.objects.get().delete()
    post(client, connected, message(connected, opportunity, "04l000000000002AAA"))
    quote_notifications_process(connection_id=connected.pk)
    assert not Quote.objects.exists()
    second = QuoteNotification.objects.get(notification_id="04l000000000002AAA")
    assert second.result == "existing" and "deleted in Cothon" in second.message


def test_a_retry_after_a_failed_read_makes_one_quote(client, alice, connected, quote_settings, sf, emulator_reset):
    opportunity = make_opportunity(sf, stage="Proposal")
    post(client, connected, message(connected, opportunity))
    emulator_reset.client.add_fault(org="demo", operation="query", status=503, error_code="SERVER_UNAVAILABLE", count=1)
    quote_notifications_process(connection_id=connected.pk)
    row = QuoteNotification.objects.get()
    assert row.processed_at is None and row.attempts == 1 and not Quote.objects.exists()
    quote_notifications_process(connection_id=connected.pk)  # the sweeper's retry
    quote_notifications_process(connection_id=connected.pk)
    assert Quote.objects.filter(tenant=alice.tenant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_make_one_quote(client, alice, connected, quote_settings, sf):
    opportunity = make_opportunity(sf, stage="Proposal")
    post(client, connected, message(connected, opportunity))
    record = inbound.opportunities_read(inbound.pull_context(connection=connected, settings=None, source="quotes"),
                                        quote_settings, [opportunity])[opportunity]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            ctx = inbound.pull_context(connection=connected, settings=None, source="quotes")
            barrier.wait(timeout=30)
            outcomes.append(inbound.quote_from_opportunity(ctx=ctx, quote_settings=quote_settings, record=record).result)
            ctx.flush()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(outcomes) == ["created", "existing", "existing", "existing"]
    assert Quote.objects.filter(tenant=alice.tenant).count() == 1
    assert SyncLink.objects.filter(connection=connected, record_type="quote").count() == 1


def test_another_orgs_message_is_refused_and_nothing_is_written(client, connected, quote_settings):
    response = post(client, connected, message(connected, "0065g000000000dAAA", org_id="00D000000000OTHER"))
    assert response.status_code == 403 and b"another Salesforce org" in response.content
    assert not QuoteNotification.objects.exists()


@pytest.mark.parametrize("body", [b"<not-xml", b"", b'<?xml version="1.0"?><a/>',
                                  b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'])
def test_a_malformed_message_is_refused_and_nothing_is_written(client, connected, quote_settings, body):
    response = post(client, connected, body)
    assert response.status_code == 400
    assert not QuoteNotification.objects.exists()


def test_an_unknown_token_is_404_and_the_pulls_token_does_not_open_the_quote_receiver(client, connected, quote_settings):
    body = message(connected, "0065g000000000dAAA")
    pull_token = pull_receiver_path(connected).rstrip("/").rsplit("/", 1)[-1]
    assert post(client, connected, body, f"/integrations/salesforce/quotes/{pull_token}/").status_code == 404
    assert post(client, connected, body, f"/integrations/salesforce/quotes/{connected.pk}-nope/").status_code == 404
    assert client.get(receiver_path(connected)).status_code == 405
    assert not QuoteNotification.objects.exists()


def test_with_opportunity_to_quote_off_notifications_are_ignored(client, alice, connected, quote_settings, sf):
    quote_settings.opportunity_to_quote = False
    quote_settings.save()
    post(client, connected, message(connected, make_opportunity(sf, stage="Proposal")))
    quote_notifications_process(connection_id=connected.pk)
    assert QuoteNotification.objects.get().result == "ignored" and not Quote.objects.exists()


def test_an_opportunity_gone_from_salesforce_is_skipped_with_a_log_row(client, connected, quote_settings, sf):
    opportunity = make_opportunity(sf, stage="Proposal")
    post(client, connected, message(connected, opportunity))
    sf.Opportunity.delete(opportunity)
    quote_notifications_process(connection_id=connected.pk)
    assert QuoteNotification.objects.get().result == "skipped" and not Quote.objects.exists()
    assert SyncLog.objects.get(connection=connected, record_type="quote").error_code == "NOT_FOUND"


def test_the_sweeper_sends_the_task_again_for_rows_left_behind(client, connected, quote_settings, sf, monkeypatch):
    import datetime

    from django.utils import timezone

    post(client, connected, message(connected, make_opportunity(sf, stage="Proposal")))
    sent: list[int] = []
    monkeypatch.setattr(inbound, "enqueue_processing", sent.append)
    assert quote_notifications_sweep() == [] and sent == []  # fresh: its own task is on the way
    later = timezone.now() + inbound.STALE_AFTER + datetime.timedelta(seconds=1)
    assert quote_notifications_sweep(now=later) == [connected.pk] and sent == [connected.pk]
