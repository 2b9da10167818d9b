"""Settings › Alerts and /api/v1/alert-settings/ + /api/v1/alert-incidents/: admins change,
bad input is refused with nothing saved, viewers never change, another tenant's ids are 404."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from integrations.crypto import decrypt_token
from sync_engine.alerts import services
from sync_engine.alerts.models import AlertDelivery, AlertIncident, AlertKind, AlertSettings, DeliveryStatus
from sync_engine.alerts.webhook import WebhookUrlError, check_url

URL = "/settings/alerts/"
ALL = [k.value for k in AlertKind]


def _post(client, **fields):
    data = {"enabled": "on", "recipients": "ops@alice.example\nlead@alice.example", "webhook_url": "", "kinds": ALL}
    data.update(fields)
    return client.post(URL, data)


def test_an_admin_saves_recipients_and_a_webhook_and_sees_the_secret_once(alice, web_as, settings):
    settings.COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS = True
    client = web_as(alice.admin)
    response = _post(client, webhook_url="http://127.0.0.1:9/hook")
    assert response.status_code == 200
    row = AlertSettings.objects.get(tenant=alice.tenant)
    assert row.recipients == ["ops@alice.example", "lead@alice.example"] and row.enabled
    secret = decrypt_token(row.webhook_secret_encrypted)
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert secret.encode() not in row.webhook_secret_encrypted  # stored encrypted
    page = client.get(URL).content.decode()
    assert secret not in page and "Set" in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("recipients", "ops@alice.example, not-an-address", "Not an e-mail address: not-an-address"),
    ("recipients", "\n".join(f"p{i}@alice.example" for i in range(21)), "At most 20 recipients"),
    ("webhook_url", "ftp://hooks.example.gov/x", "must start with https://"),
    ("webhook_url", "https://10.0.0.5/hook", "private address (10.0.0.5)"),
    ("webhook_url", "https://127.0.0.1/hook", "private address (127.0.0.1)"),
    ("webhook_url", "https://169.254.169.254/latest/meta-data", "address (169.254.169.254)"),
    ("webhook_url", "https://[::1]/hook", "private address (::1)"),
    ("webhook_url", "http://hooks.example.gov/x", "must use https://"),
])
def test_bad_input_is_refused_with_a_clear_error_and_nothing_saved(alice, web_as, field, value, message):
    client = web_as(alice.admin)
    response = _post(client, **{field: value})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was saved" in body and message in body.replace("&#x27;", "'")
    assert value.splitlines()[0] in body  # what was typed is shown again
    assert not AlertSettings.objects.filter(tenant=alice.tenant).exists()


def test_link_local_stays_refused_even_when_private_webhooks_are_allowed(settings):
    settings.COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS = True
    check_url("http://127.0.0.1:8000/hook")
    check_url("http://10.1.2.3/hook")
    for url in ("http://169.254.169.254/", "http://[fe80::1]/", "http://0.0.0.0/", "http://8.8.8.8/hook"):
        with pytest.raises(WebhookUrlError):
            check_url(url)


def test_a_webhook_host_that_resolves_to_a_private_address_is_refused_at_send_time(alice, connection, monkeypatch):
    import ipaddress

    from sync_engine.alerts import webhook

    services.alert_settings_save(tenant=alice.tenant, enabled=True, recipients=[], webhook_url="https://hooks.example.gov/x",
                                 kinds=ALL)
    # The host name resolves to a private address by the time of the send (DNS changed).
    monkeypatch.setattr(webhook, "_resolve", lambda host, port: [ipaddress.ip_address("10.0.0.7")])
    from sync_engine.governor import get_governor

    get_governor().pause(connection.pk, 3600)
    services.alerts_run()
    delivery = AlertDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and "private address (10.0.0.7)" in delivery.last_error


def test_enabling_without_any_channel_is_refused(alice, web_as):
    response = _post(web_as(alice.admin), recipients="")
    assert response.status_code == 400 and "at least one e-mail recipient or a webhook URL" in response.content.decode()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_below_admin_the_page_and_its_actions_are_refused(alice, web_as, role):
    client = web_as(getattr(alice, role))
    for url in (URL, reverse("sync_alerts:rotate_secret"), reverse("sync_alerts:test")):
        assert client.get(url).status_code in (403, 405)
        assert client.post(url, {"enabled": "on", "recipients": "x@y.example", "kinds": ALL}).status_code == 403
    assert not AlertSettings.objects.exists()
    assert "Settings › Alerts" not in client.get("/sync/").content.decode()


def test_send_test_alert_reports_each_channel(alice, web_as, receiver, closed_port, settings):
    settings.COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS = True
    client = web_as(alice.admin)
    _post(client, webhook_url=receiver.url)
    page = client.post(reverse("sync_alerts:test"), follow=True).content.decode()
    assert "Test alert sent by e-mail." in page and "Test alert sent by webhook." in page
    assert mail.outbox[-1].subject == "[Cothon] Test alert for Alice Bids Inc."
    assert receiver.requests[-1]["headers"]["X-Cothon-Event"] == "test"
    AlertSettings.objects.filter(tenant=alice.tenant).update(webhook_url=f"http://127.0.0.1:{closed_port}/x")
    page = client.post(reverse("sync_alerts:test"), follow=True).content.decode()
    assert "Test alert by webhook failed: ConnectionError" in page


def _incident(world, connection, *, resolved=False, status=DeliveryStatus.FAILED):
    incident = AlertIncident.objects.create(tenant=world.tenant, connection=connection, kind=AlertKind.QUOTA_PAUSED,
                                            opened_at=timezone.now(), resolved_at=timezone.now() if resolved else None,
                                            detail=f"secret of {world.tenant.slug}")
    AlertDelivery.objects.create(incident=incident, event="opened", channel="email", status=status, attempts=8,
                                 last_error="SMTP down", next_attempt_at=timezone.now())
    return incident


def test_the_page_lists_incidents_and_retry_makes_a_failed_delivery_due(alice, web_as, connection):
    incident = _incident(alice, connection)
    client = web_as(alice.admin)
    page = client.get(URL).content.decode()
    assert f'id="incident-{incident.pk}"' in page and "Failed after 8" in page and "Retry" in page
    delivery = incident.deliveries.get()
    response = client.post(reverse("sync_alerts:retry", kwargs={"pk": delivery.pk}))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


def test_retry_of_another_tenants_delivery_is_404(alice, bob, web_as):
    from integrations.models import ConnectionStatus, SalesforceConnection

    theirs = SalesforceConnection.objects.create(tenant=bob.tenant, name="B", login_url="https://login.salesforce.com",
                                                 status=ConnectionStatus.CONNECTED)
    delivery = _incident(bob, theirs).deliveries.get()
    response = web_as(alice.admin).post(reverse("sync_alerts:retry", kwargs={"pk": delivery.pk}))
    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


# --- API ---------------------------------------------------------------------------------------

def test_the_api_reads_and_replaces_settings_and_returns_the_secret_only_when_made(alice, api_as, settings):
    settings.COTHON_ALERTS_ALLOW_PRIVATE_WEBHOOKS = True
    api = api_as(alice.admin_membership)
    assert api.get("/api/v1/alert-settings/").json()["enabled"] is False
    body = {"enabled": True, "recipients": ["ops@alice.example"], "webhook_url": "http://127.0.0.1:9/h", "kinds": ["quota_paused"]}
    answer = api.put("/api/v1/alert-settings/", body, format="json")
    assert answer.status_code == 200, answer.json()
    secret = answer.json()["webhook_secret"]
    assert secret == decrypt_token(AlertSettings.objects.get().webhook_secret_encrypted)
    again = api.put("/api/v1/alert-settings/", body, format="json").json()
    assert "webhook_secret" not in again and again["has_secret"] is True and again["kinds"] == ["quota_paused"]
    assert "webhook_secret" not in api.get("/api/v1/alert-settings/").json()
    rotated = api.post("/api/v1/alert-settings/rotate-secret/").json()["webhook_secret"]
    assert rotated != secret and rotated == decrypt_token(AlertSettings.objects.get().webhook_secret_encrypted)


@pytest.mark.parametrize(("field", "value", "error_field"), [
    ("recipients", ["nope"], "recipients"),
    ("webhook_url", "ftp://x.example/h", "webhook_url"),
    ("webhook_url", "https://192.168.1.10/h", "webhook_url"),
    ("kinds", ["everything"], "kinds"),
    ("enabled", "maybe", "enabled"),
])
def test_the_api_refuses_bad_settings_and_saves_nothing(alice, api_as, field, value, error_field):
    body = {"enabled": True, "recipients": ["ops@alice.example"], "webhook_url": "", "kinds": ["quota_paused"], field: value}
    answer = api_as(alice.admin_membership).put("/api/v1/alert-settings/", body, format="json")
    assert answer.status_code == 400 and error_field in answer.json()["errors"]
    assert not AlertSettings.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_below_admin_the_settings_api_is_refused(alice, api_as, role):
    api = api_as(getattr(alice, f"{role}_membership"))
    assert api.get("/api/v1/alert-settings/").status_code == 403
    body = {"enabled": True, "recipients": ["x@alice.example"], "webhook_url": "", "kinds": []}
    assert api.put("/api/v1/alert-settings/", body, format="json").status_code == 403
    assert api.post("/api/v1/alert-settings/rotate-secret/").status_code == 403
    assert not AlertSettings.objects.exists()


def test_viewers_list_incidents_filtered_by_state_and_another_tenants_is_404(alice, bob, api_as, connection):
    from integrations.models import ConnectionStatus, SalesforceConnection

    open_one = _incident(alice, connection)
    resolved = _incident(alice, connection, resolved=True, status=DeliveryStatus.SENT)
    theirs = _incident(bob, SalesforceConnection.objects.create(tenant=bob.tenant, name="B", login_url="https://login.salesforce.com",
                                                                status=ConnectionStatus.CONNECTED))
    api = api_as(alice.viewer_membership)
    listed = api.get("/api/v1/alert-incidents/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {r["id"] for r in rows} == {open_one.pk, resolved.pk}
    only_open = api.get("/api/v1/alert-incidents/", {"state": "open"}).json()
    assert [r["id"] for r in (only_open["results"] if isinstance(only_open, dict) else only_open)] == [open_one.pk]
    assert api.get("/api/v1/alert-incidents/", {"state": "bogus"}).status_code == 400
    detail = api.get(f"/api/v1/alert-incidents/{open_one.pk}/").json()
    assert detail["deliveries"][0]["status"] == "failed" and detail["kind"] == "quota_paused"
    assert api.get(f"/api/v1/alert-incidents/{theirs.pk}/").status_code == 404
    assert api.post("/api/v1/alert-incidents/", {}).status_code in (403, 405)
