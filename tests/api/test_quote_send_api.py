"""POST/GET /api/v1/quotes/{id}/send/ (sync_engine/quotes/api.py): queue a Send to Salesforce and
read its state; refusals are 409 with a code and nothing queued; viewers read but cannot send;
another organization's quote is a 404; the route is in the OpenAPI schema."""

from __future__ import annotations

import pytest

from sync_engine.quotes import send as svc
from sync_engine.quotes.models import QuoteSend, QuoteSettings
from tests.api.conftest import API
from tests.proposals.quote_world import make_quote, quote_from_salesforce

pytestmark = pytest.mark.emulator


def _url(quote) -> str:
    return f"{API}/quotes/{quote.pk}/send/"


@pytest.fixture
def sales(alice, connected, emulator_reset):
    return quote_from_salesforce(alice, connected, emulator_reset)


def test_post_queues_a_send_and_get_reads_its_result(alice, alice_api, sales, emulator_reset, django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    before = alice_api.get(_url(quote)).json()
    assert before["enabled"] is True and before["latest"] is None and before["salesforce_opportunity_id"] == opportunity_id
    assert before["opportunity_url"].endswith(f"/lightning/r/Opportunity/{opportunity_id}/view")

    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_api.post(_url(quote))
    assert response.status_code == 202 and len(callbacks) == 1
    body = response.json()
    assert body["latest"]["status"] == "queued" and body["enabled"] is False and body["refusal_code"] == "sending"
    assert body["latest"]["requested_by"] == alice.member.get_username()

    send_id = body["latest"]["id"]
    assert svc.quote_send_execute(send_id=send_id) is None
    after = alice_api.get(_url(quote)).json()
    assert after["enabled"] is True and after["latest"]["status"] == "sent"
    assert after["latest"]["amount"] == "26753.89" and after["latest"]["version_number"] == 1
    assert after["latest"]["content_document_id"].startswith("069") and after["last_sent"]["id"] == send_id


def test_a_second_post_while_one_is_in_flight_is_a_409_sending(alice_api, sales, django_capture_on_commit_callbacks):
    quote, _ = sales
    with django_capture_on_commit_callbacks():
        assert alice_api.post(_url(quote)).status_code == 202
    response = alice_api.post(_url(quote))
    assert response.status_code == 409 and response.json()["code"] == "sending"
    assert QuoteSend.objects.count() == 1


def test_sending_back_off_is_a_409_with_where_to_turn_it_on_and_nothing_queued(alice_api, sales):
    quote, _ = sales
    QuoteSettings.objects.update(sync_back=False)
    state = alice_api.get(_url(quote)).json()
    assert state["enabled"] is False and state["refusal_code"] == "sync_back_off"
    response = alice_api.post(_url(quote))
    assert response.status_code == 409 and response.json()["code"] == "sync_back_off"
    assert "Settings › Integrations › Salesforce › Quotes" in response.json()["detail"]
    assert not QuoteSend.objects.exists()


def test_a_quote_without_a_salesforce_opportunity_is_a_409_no_opportunity(alice, alice_api, connected):
    quote = make_quote(alice.tenant)
    response = alice_api.post(_url(quote))
    assert response.status_code == 409 and response.json()["code"] == "no_opportunity"
    assert not QuoteSend.objects.exists()


def test_a_viewer_reads_the_state_but_cannot_send(alice, api_as, sales):
    quote, _ = sales
    viewer = api_as(alice.viewer_membership)
    assert viewer.get(_url(quote)).status_code == 200
    assert viewer.post(_url(quote)).status_code == 403 and not QuoteSend.objects.exists()


def test_another_organizations_quote_is_a_404_both_ways(bob_api, sales):
    quote, _ = sales
    assert bob_api.get(_url(quote)).status_code == 404
    assert bob_api.post(_url(quote)).status_code == 404
    assert not QuoteSend.objects.exists()


def test_a_non_numeric_id_is_a_404(alice_api):
    assert alice_api.post(f"{API}/quotes/abc/send/").status_code == 404


def test_the_send_route_is_in_the_schema_and_the_quotes_list_still_works(alice_api, client):
    schema = client.get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/quotes/{id}/send/"]
    assert {"get", "post"} <= set(operations) and "409" in operations["post"]["responses"]
    assert alice_api.get(f"{API}/quotes/").status_code == 200
