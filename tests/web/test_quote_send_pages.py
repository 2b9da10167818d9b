"""The quote page's Salesforce actions (templates/sync_quotes/_quote_actions.html, included by the
quote detail page, and the views of sync_engine/quotes/send_views.py): Download PDF, the menu's
Send to Salesforce (only when enabled), the send's progress polled until its result, errors with
code/message/fix, refusals, roles, another organization's quote a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sync_engine.quotes import send as svc
from sync_engine.quotes.models import QuoteSend, QuoteSettings
from tests.proposals.quote_world import make_quote, quote_from_salesforce

pytestmark = pytest.mark.emulator
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sales(alice, connected, emulator_reset):
    return quote_from_salesforce(alice, connected, emulator_reset)


def _page(client, quote) -> str:
    response = client.get(reverse("quotes:detail", args=[quote.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_offers_the_pdf_and_a_salesforce_menu_with_send_and_open_in_salesforce(alice, web_as, sales):
    quote, opportunity_id = sales
    html = _page(web_as(alice.member), quote)
    assert f'href="{reverse("proposals:quote_pdf", args=[quote.pk])}"' in html and "Download PDF" in html
    assert "Salesforce actions" in html and 'data-testid="quote-send"' in html
    assert f'hx-post="{reverse("quote_send:send", args=[quote.pk])}"' in html
    assert "Amount ← CAD 26,753.89, and the PDF" in html
    assert f"/lightning/r/Opportunity/{opportunity_id}/view" in html and "Open in Salesforce" in html
    assert 'data-state="never"' in html


def test_send_shows_progress_then_the_result_with_time_amount_version_and_link(alice, web_as, sales,
                                                                               django_capture_on_commit_callbacks):
    quote, opportunity_id = sales
    client = web_as(alice.member)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and len(callbacks) == 1
    assert 'data-state="queued"' in html and "Sending to Salesforce…" in html
    assert f'hx-get="{reverse("quote_send:status", args=[quote.pk])}"' in html and 'hx-trigger="every 1s"' in html
    # The menu comes back out of band with Send disabled while the send runs.
    assert 'hx-swap-oob="true"' in html and "A send is under way…" in html and " disabled" in html

    # A second click while it runs queues nothing and shows the same progress.
    again = client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX).content.decode()
    assert 'data-state="queued"' in again and "Not sent" not in again and QuoteSend.objects.count() == 1

    send = QuoteSend.objects.get()
    assert svc.quote_send_execute(send_id=send.pk) is None
    html = client.get(reverse("quote_send:status", args=[quote.pk]), **HTMX).content.decode()
    assert 'data-state="sent"' in html and "Sent to Salesforce" in html and "hx-trigger" not in html.split("<details")[0]
    assert "Amount CAD 26,753.89 · PDF version 1" in html and alice.member.get_username() in html
    assert f"/lightning/r/Opportunity/{opportunity_id}/view" in html
    assert "as version 2" in html and "Open the quote file in Salesforce" in html and "/lightning/r/ContentDocument/069" in html
    page = _page(client, quote)
    assert 'data-state="sent"' in page and "Last sent" in page


def test_a_failed_send_shows_salesforces_code_and_message_and_how_to_fix(alice, web_as, sales, emulator_reset,
                                                                         django_capture_on_commit_callbacks):
    quote, _ = sales
    emulator_reset.client.add_fault(org="demo", object="Opportunity", operation="update", status=400,
                                    error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION", message="Amount changes need finance approval")
    client = web_as(alice.member)
    with django_capture_on_commit_callbacks():
        client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX)
    svc.quote_send_execute(send_id=QuoteSend.objects.get().pk)
    html = _page(client, quote)
    assert 'data-state="failed"' in html and "Send failed" in html
    assert "<code>FIELD_CUSTOM_VALIDATION_EXCEPTION</code>" in html and "Amount changes need finance approval" in html
    assert "How to fix:" in html and "Validation Rules" in html


def test_lock_retries_show_the_code_and_the_next_try(alice, web_as, sales, emulator_reset, django_capture_on_commit_callbacks):
    quote, _ = sales
    emulator_reset.client.add_fault(org="demo", object="Opportunity", operation="update", status=400,
                                    error_code="UNABLE_TO_LOCK_ROW", message="unable to obtain exclusive access to this record")
    client = web_as(alice.member)
    with django_capture_on_commit_callbacks():
        client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX)
    assert svc.quote_send_execute(send_id=QuoteSend.objects.get().pk) == 2.0
    html = client.get(reverse("quote_send:status", args=[quote.pk]), **HTMX).content.decode()
    assert 'data-state="retrying"' in html and "<code>UNABLE_TO_LOCK_ROW</code>" in html and "attempt 2 of 3" in html


def test_with_sending_back_off_the_menu_says_why_and_a_post_is_refused(alice, web_as, sales):
    quote, _ = sales
    QuoteSettings.objects.update(sync_back=False)
    client = web_as(alice.member)
    html = _page(client, quote)
    assert 'data-testid="quote-send"' not in html and 'data-testid="quote-send-unavailable"' in html
    assert "Sending quotes back is turned off" in html and "Settings › Integrations › Salesforce › Quotes" in html
    response = client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX)
    # 200 (HTMX swaps no error response) with the refusal where the result would be.
    html = response.content.decode()
    assert response.status_code == 200 and 'data-state="refused"' in html and "Not sent." in html
    assert "Sending quotes back is turned off" in html
    assert not QuoteSend.objects.exists()


def test_a_quote_without_an_opportunity_says_so_and_offers_no_salesforce_link(alice, web_as, connected):
    QuoteSettings.objects.create(connection=connected, sync_back=True)
    html = _page(web_as(alice.member), make_quote(alice.tenant))
    assert "This quote has no Salesforce opportunity" in html and "Open in Salesforce" not in html


def test_a_viewer_sees_the_state_but_no_send_and_cannot_post(alice, web_as, sales):
    quote, _ = sales
    client = web_as(alice.viewer)
    html = _page(client, quote)
    assert 'data-testid="quote-send"' not in html and "Members of the organization can send quotes." in html
    assert client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX).status_code == 403
    assert client.get(reverse("quote_send:status", args=[quote.pk]), **HTMX).status_code == 200
    assert not QuoteSend.objects.exists()


def test_without_htmx_the_send_goes_back_to_the_page_it_came_from_and_never_elsewhere(alice, web_as, sales,
                                                                                      django_capture_on_commit_callbacks):
    quote, _ = sales
    client = web_as(alice.member)
    with django_capture_on_commit_callbacks():
        response = client.post(reverse("quote_send:send", args=[quote.pk]), {"next": reverse("quotes:detail", args=[quote.pk])})
    assert response.status_code == 302 and response["Location"] == reverse("quotes:detail", args=[quote.pk])
    response = client.post(reverse("quote_send:send", args=[quote.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("home")  # refused (in flight), sent home


def test_another_organizations_quote_is_a_404_for_send_status_and_pdf(bob, web_as, sales):
    quote, _ = sales
    client = web_as(bob.admin)
    assert client.post(reverse("quote_send:send", args=[quote.pk]), **HTMX).status_code == 404
    assert client.get(reverse("quote_send:status", args=[quote.pk]), **HTMX).status_code == 404
    assert client.get(reverse("quotes:detail", args=[quote.pk])).status_code == 404
    assert not QuoteSend.objects.exists()
