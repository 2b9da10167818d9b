"""Settings › Alerts in a browser: an admin reaches it from the sidebar, a bad address is refused
with its error, a webhook gets its secret shown once, a test alert reaches the receiver, and a
quota pause's incident with a failed webhook delivery shows with Retry."""

from __future__ import annotations

import pytest
from django.core import mail

from sync_engine.alerts.models import AlertDelivery, DeliveryStatus
from sync_engine.alerts.services import alerts_run
from sync_engine.governor import get_governor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_configures_alerts_and_reads_incidents(page, live_server, login, screenshot, alice, connection, receiver,
                                                       private_webhooks):
    login(page, alice.admin)
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url("**/settings/alerts/")
    page.check("#enabled")
    page.fill("#recipients", "ops@alice.example\nnot an address")
    page.click("#alert-settings-save")
    assert "Not an e-mail address: not an address" in page.locator("#alert-settings-errors").inner_text()
    screenshot(page, "alerts-01-bad-input")

    page.fill("#recipients", "ops@alice.example\nlead@alice.example")
    page.fill("#webhook_url", receiver.url)
    page.click("#alert-settings-save")
    secret = page.locator("#alert-secret-value").inner_text()
    assert secret.startswith("whsec_")
    screenshot(page, "alerts-02-saved-with-secret")

    page.click("#alerts-test")
    page.wait_for_selector("text=Test alert sent by webhook.")
    assert receiver.requests[-1]["headers"]["X-Cothon-Event"] == "test" and mail.outbox

    get_governor().pause(connection.pk, 3600)
    receiver.status = 503
    alerts_run()
    delivery = AlertDelivery.objects.get(channel="webhook")
    AlertDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=8)
    connection.status = "needs_reconnect"
    connection.last_error_message = "expired access/refresh token"
    connection.save()
    alerts_run()
    page.goto(f"{live_server.url}/settings/alerts/")
    assert secret not in page.content()
    row = page.locator("#alert-incidents tbody tr")
    assert row.count() == 2
    assert "Failed after 8" in page.locator(f"#delivery-{delivery.pk}").inner_text()
    screenshot(page, "alerts-03-incidents")
    receiver.status = 200
    page.locator(f"#delivery-{delivery.pk}").get_by_role("button", name="Retry").click()
    page.wait_for_selector("text=The delivery is sent again now")
