"""Synchronize now: the opportunities at the trigger stage meeting every condition (each
operator on text and on numbers, typed literals, nothing pasted raw), one quote each, idempotent;
contacts only when Opportunity → Quote is off; refusals with nothing written; the panel and its
view (admins of the tenant only)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from opportunities.models import Contact
from opportunities.services import contact_create
from proposals.models import Quote
from sync_engine.models import SyncLink, SyncLog
from sync_engine.pull.apply import pull_context
from sync_engine.quotes.models import QuoteSettings, QuoteSync
from sync_engine.quotes.sync_now import opportunities_at_trigger, quote_sync_run, quote_sync_start, quote_syncs_sweep
from tests.quotes.conftest import make_opportunity

pytestmark = pytest.mark.django_db


def run_now(connected, actor, django_capture_on_commit_callbacks) -> QuoteSync:
    with django_capture_on_commit_callbacks(execute=False):
        run = quote_sync_start(connection=connected, actor=actor)
    return quote_sync_run(run_id=run.pk)


def names_at_trigger(connected, quote_settings) -> set[str]:
    ctx = pull_context(connection=connected, settings=None, source="quotes")
    return {r["Name"] for r in opportunities_at_trigger(ctx, quote_settings)}


@pytest.fixture
def three(sf):
    """Alpha 5,000, Bravo 10,000, Charlie 20,000 at the stage; Delta 10,000 at another."""
    for name, amount in (("Alpha", 5000), ("Bravo", 10000), ("Charlie", 20000)):
        make_opportunity(sf, name=name, stage="Proposal", amount=amount)
    make_opportunity(sf, name="Delta", stage="Negotiation", amount=10000)


@pytest.mark.parametrize(("operator", "expected"), [
    ("=", {"Bravo"}), (">", {"Charlie"}), ("<", {"Alpha"}), ("<=", {"Alpha", "Bravo"}), (">=", {"Bravo", "Charlie"})])
def test_each_operator_on_a_number_field(connected, quote_settings, three, operator, expected):
    quote_settings.conditions = [{"field": "Amount", "operator": operator, "value": "10000"}]
    assert names_at_trigger(connected, quote_settings) == expected


@pytest.mark.parametrize(("operator", "expected"), [
    ("=", {"Bravo"}), (">", {"Charlie"}), ("<", {"Alpha"}), ("<=", {"Alpha", "Bravo"}), (">=", {"Bravo", "Charlie"})])
def test_each_operator_on_a_text_field(connected, quote_settings, three, operator, expected):
    quote_settings.conditions = [{"field": "Name", "operator": operator, "value": "Bravo"}]
    assert names_at_trigger(connected, quote_settings) == expected


def test_conditions_are_anded_with_the_stage(connected, quote_settings, three):
    quote_settings.conditions = [{"field": "Amount", "operator": ">=", "value": "10000"},
                                 {"field": "name", "operator": "<", "value": "Charlie"}]  # field names case-insensitive
    assert names_at_trigger(connected, quote_settings) == {"Bravo"}


def test_a_text_value_cannot_change_the_query(connected, quote_settings, three):
    quote_settings.conditions = [{"field": "Name", "operator": "=", "value": "x' OR Name != 'y"}]
    assert names_at_trigger(connected, quote_settings) == set()


@pytest.mark.parametrize(("condition", "error"), [
    ({"field": "Amount", "operator": ">", "value": "ten thousand"}, "is not a number"),
    ({"field": "Amount", "operator": "LIKE", "value": "1"}, "unknown operator"),
    ({"field": "No_Such_Field__c", "operator": "=", "value": "1"}, "no such Opportunity field"),
    ({"field": "Amount) OR (Name", "operator": "=", "value": "1"}, "no such Opportunity field"),
    ({"field": "CloseDate", "operator": "<", "value": "tomorrow"}, "is not a date"),
])
def test_a_bad_condition_fails_the_run_clearly_and_writes_nothing(alice, connected, quote_settings, three, condition, error,
                                                                    django_capture_on_commit_callbacks):
    quote_settings.conditions = [condition]
    quote_settings.save()
    run = run_now(connected, alice.admin, django_capture_on_commit_callbacks)
    assert run.status == "failed" and error in run.message
    assert not Quote.objects.exists() and not SyncLink.objects.filter(record_type="quote").exists()


def test_synchronize_now_makes_one_quote_per_opportunity_and_a_second_run_makes_none(
        alice, connected, quote_settings, three, django_capture_on_commit_callbacks):
    quote_settings.conditions = [{"field": "Amount", "operator": ">=", "value": "10000"}]
    quote_settings.save()
    first = run_now(connected, alice.admin, django_capture_on_commit_callbacks)
    assert (first.status, first.mode, first.total, first.processed, first.created, first.existing) == (
        "succeeded", "quotes", 2, 2, 2, 0)
    assert first.started_at and first.finished_at and first.api_calls >= 1 and first.requested_by == alice.admin
    assert set(Quote.objects.filter(tenant=alice.tenant).values_list("title", flat=True)) == {"Bravo", "Charlie"}
    assert SyncLog.objects.filter(connection=connected, record_type="quote", operation="create", result="success").count() == 2
    second = run_now(connected, alice.admin, django_capture_on_commit_callbacks)
    assert (second.total, second.created, second.existing) == (2, 0, 2)
    assert Quote.objects.filter(tenant=alice.tenant).count() == 2


def test_with_opportunity_to_quote_off_it_syncs_contacts_only(alice, connected, quote_settings, sf,
                                                              django_capture_on_commit_callbacks):
    quote_settings.opportunity_to_quote = False
    quote_settings.save()
    make_opportunity(sf, stage="Proposal")
    matched = contact_create(tenant=alice.tenant, first_name="Sam", last_name="Known", email="sam.known@example.com")
    sf.Contact.create({"FirstName": "Sam", "LastName": "Known", "Email": "SAM.KNOWN@example.com"})
    run = run_now(connected, alice.admin, django_capture_on_commit_callbacks)
    assert (run.status, run.mode, run.total, run.created, run.matched, run.failed) == ("succeeded", "contacts", 2, 1, 1, 0)
    assert not Quote.objects.exists()
    morgan = Contact.objects.get(tenant=alice.tenant, email="morgan.buyer@example.com")
    assert morgan.department.name == "Public Services and Procurement Canada" and morgan.related_user == alice.member
    assert SyncLink.objects.filter(connection=connected, record_type="contact").count() == 2
    assert SyncLink.objects.get(connection=connected, record_type="contact", record_id=matched.pk).matched_by == "email"
    again = run_now(connected, alice.admin, django_capture_on_commit_callbacks)
    assert (again.created, again.matched, again.existing) == (0, 0, 2)
    assert Contact.objects.filter(tenant=alice.tenant).count() == 2


def test_start_is_refused_without_settings_a_stage_or_while_running(alice, connected, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError, match="Save the quote settings"):
        quote_sync_start(connection=connected, actor=alice.admin)
    settings = QuoteSettings.objects.create(connection=connected, opportunity_to_quote=True, trigger_stage="")
    with pytest.raises(ValidationError, match="trigger stage"):
        quote_sync_start(connection=connected, actor=alice.admin)
    settings.trigger_stage = "Proposal"
    settings.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        quote_sync_start(connection=connected, actor=alice.admin)
    assert len(callbacks) == 1
    with pytest.raises(ValidationError, match="already running"):
        quote_sync_start(connection=connected, actor=alice.admin)
    assert QuoteSync.objects.count() == 1


def test_the_sweeper_resends_a_lost_run_and_a_second_worker_does_not_run_it_twice(
        alice, connected, quote_settings, monkeypatch, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    from sync_engine.quotes import sync_now

    with django_capture_on_commit_callbacks(execute=False):
        run = quote_sync_start(connection=connected, actor=alice.admin)
    sent: list[int] = []
    monkeypatch.setattr(sync_now, "_enqueue", sent.append)
    assert quote_syncs_sweep() == []
    assert quote_syncs_sweep(now=timezone.now() + sync_now.LOST_AFTER + datetime.timedelta(seconds=1)) == [run.pk]
    assert quote_sync_run(run_id=run.pk).status == "succeeded"
    assert quote_sync_run(run_id=run.pk) is None  # finished: a duplicate message does nothing


# --- the panel and its view ----------------------------------------------------------------------

def url(connection) -> str:
    return f"/settings/integrations/salesforce/{connection.pk}/quotes/synchronize/"


def test_an_admin_starts_it_from_the_panel_and_sees_its_progress(alice, connected, quote_settings, web_as,
                                                                 django_capture_on_commit_callbacks):
    client = web_as(alice.admin)
    page = client.get(url(connected))
    assert page.status_code == 200 and b"Synchronize now" in page.content and b"Proposal" in page.content
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url(connected), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and len(callbacks) == 1
    run = QuoteSync.objects.get(connection=connected)
    assert b'hx-trigger="every 1s"' in response.content and b"Synchronizing" in response.content
    quote_sync_run(run_id=run.pk)
    done = client.get(url(connected), HTTP_HX_REQUEST="true")
    assert b"every 1s" not in done.content and b"Finished" in done.content and b"<html" not in done.content


def test_the_panel_says_why_it_cannot_start(alice, connected, web_as):
    response = web_as(alice.admin).post(url(connected), HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and b"Save the quote settings" in response.content
    assert not QuoteSync.objects.exists()


def test_the_include_loads_the_panel_of_its_connection(alice, connected):
    from django.template.loader import render_to_string

    html = render_to_string("sync_quotes/_synchronize_now.html", {"connection": connected})
    assert f'hx-get="{url(connected)}"' in html


def test_another_tenants_connection_is_404_and_members_cannot_start_it(alice, bob, connected, quote_settings, web_as,
                                                                       client):
    assert web_as(bob.admin).get(url(connected)).status_code == 404
    assert web_as(bob.admin).post(url(connected)).status_code == 404
    client.logout()
    assert web_as(alice.member).post(url(connected)).status_code == 403
    assert not QuoteSync.objects.exists()


def test_the_panel_shows_the_last_opportunity_the_flow_sent(alice, connected, quote_settings, web_as):
    from django.utils import timezone

    from sync_engine.quotes.models import QuoteNotification

    client = web_as(alice.admin)
    assert b"No opportunity has been sent by the org" in client.get(url(connected), HTTP_HX_REQUEST="true").content
    QuoteNotification.objects.create(connection=connected, notification_id="04l000000000001AAA", sobject="Opportunity",
                                     salesforce_id="0065g000000000dAAA", fields={"Name": "Translation services"},
                                     processed_at=timezone.now(), result="created", message="Quote Q-00001 created in Scoping.")
    html = client.get(url(connected), HTTP_HX_REQUEST="true").content.decode()
    assert "Last opportunity sent by the flow: Translation services" in html and "Quote Q-00001 created" in html
