"""Incidents from a connection's health: opened once, one e-mail and one signed webhook per
event, a recovery message each, retries when a channel is down, and nothing sent twice."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core import mail
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from sync_engine.alerts import services
from sync_engine.alerts.models import AlertDelivery, AlertEvent, AlertIncident, AlertKind, DeliveryStatus
from sync_engine.alerts.services import alert_deliveries_send_due, alerts_evaluate, alerts_run
from sync_engine.alerts.webhook import verify_signature
from sync_engine.governor import get_governor
from sync_engine.models import SyncLog, SyncResult

pytestmark = pytest.mark.usefixtures("private_webhooks")


def _configure(tenant, *, recipients=("ops@alice.example",), url="", kinds=None) -> str:
    saved = services.alert_settings_save(tenant=tenant, enabled=True, recipients=list(recipients), webhook_url=url,
                                         kinds=kinds if kinds is not None else [k.value for k in AlertKind])
    return saved.new_secret


def _later(minutes: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=minutes)


def test_a_quota_pause_alerts_once_by_email_and_signed_webhook_and_once_more_on_recovery(alice, connection, receiver):
    secret = _configure(alice.tenant, url=receiver.url)
    get_governor().pause(connection.pk, 3600, resume_estimate=timezone.now().timestamp() + 3600)

    alerts_run()
    incident = AlertIncident.objects.get()
    assert (incident.kind, incident.is_open, incident.connection_id) == (AlertKind.QUOTA_PAUSED, True, connection.pk)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@alice.example"]
    assert mail.outbox[0].subject == "[Cothon] Production org: paused by API limit"
    assert "API allowance is used up" in mail.outbox[0].body and f"/sync/connections/{connection.pk}/health/" in mail.outbox[0].body
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["headers"]["X-Cothon-Event"] == "incident.opened"
    assert request["headers"]["Content-Type"] == "application/json"
    assert verify_signature(request["body"], request["headers"]["X-Cothon-Signature"], secret)
    assert not verify_signature(request["body"], request["headers"]["X-Cothon-Signature"], "whsec_wrong")
    payload = json.loads(request["body"])
    assert payload["event"] == "incident.opened" and payload["kind"] == "quota_paused"
    assert payload["connection"] == {"id": connection.pk, "name": "Production org"} and payload["tenant"] == "alice"
    assert payload["incident_id"] == incident.pk and payload["resolved_at"] is None and payload["fix"]
    assert payload["health_url"].endswith(f"/sync/connections/{connection.pk}/health/")
    delivery_ids = {d.pk for d in incident.deliveries.all()}
    assert int(request["headers"]["X-Cothon-Delivery"]) in delivery_ids

    alerts_run()
    alerts_run()
    assert (len(mail.outbox), len(receiver.requests), AlertIncident.objects.count()) == (1, 1, 1)

    get_governor().resume(connection.pk)
    alerts_run()
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert len(mail.outbox) == 2 and mail.outbox[1].subject == "[Cothon] Production org: paused by API limit — recovered"
    assert len(receiver.requests) == 2
    recovered = receiver.requests[1]
    assert recovered["headers"]["X-Cothon-Event"] == "incident.recovered"
    assert verify_signature(recovered["body"], recovered["headers"]["X-Cothon-Signature"], secret)
    assert json.loads(recovered["body"])["resolved_at"] is not None

    alerts_run()
    assert (len(mail.outbox), len(receiver.requests)) == (2, 2)
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_second_pause_later_is_a_new_incident(alice, connection):
    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    alerts_run()
    get_governor().resume(connection.pk)
    alerts_run()
    get_governor().pause(connection.pk, 3600)
    alerts_run()
    assert AlertIncident.objects.count() == 2 and AlertIncident.objects.filter(resolved_at__isnull=True).count() == 1
    assert [m.subject.endswith("recovered") for m in mail.outbox] == [False, True, False]


def test_a_connection_that_needs_reconnecting_alerts_with_what_salesforce_said(alice, connection):
    _configure(alice.tenant)
    connection.status, connection.last_error_message = ConnectionStatus.NEEDS_RECONNECT, "expired access/refresh token"
    connection.save()
    alerts_run()
    assert AlertIncident.objects.get().kind == AlertKind.NEEDS_RECONNECT
    assert mail.outbox[0].subject == "[Cothon] Production org: needs reconnecting"
    assert "expired access/refresh token" in mail.outbox[0].body and "Reconnect" in mail.outbox[0].body
    connection.status = ConnectionStatus.CONNECTED
    connection.save()
    alerts_run()
    assert len(mail.outbox) == 2 and "recovered" in mail.outbox[1].subject


def _logs(connection, *, at, success=0, failed=0):
    rows = SyncLog.objects.bulk_create([SyncLog(tenant_id=connection.tenant_id, connection=connection, operation="upsert",
                                                result=r) for r in [SyncResult.SUCCESS] * success + [SyncResult.FAILED] * failed])
    SyncLog.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=at)


def test_an_error_rate_jump_alerts(alice, connection):
    _configure(alice.tenant)
    now = timezone.now()
    _logs(connection, at=now - datetime.timedelta(days=2), success=95, failed=5)
    _logs(connection, at=now - datetime.timedelta(minutes=5), success=14, failed=6)
    alerts_evaluate(now=now)
    alert_deliveries_send_due(now=now)
    incident = AlertIncident.objects.get()
    assert incident.kind == AlertKind.ERROR_RATE and "30%" in incident.detail
    assert mail.outbox[0].subject == "[Cothon] Production org: error rate up"
    # An hour later the failures are out of the window: recovered.
    later = now + datetime.timedelta(hours=1, minutes=1)
    alerts_run(now=later)
    assert AlertIncident.objects.get().resolved_at == later and len(mail.outbox) == 2


def test_an_api_usage_anomaly_alerts(alice, connection):
    from sync_engine.models import ApiCallBucket

    _configure(alice.tenant)
    now = timezone.now()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    day_start = this_hour - datetime.timedelta(hours=23)
    hours = [day_start - datetime.timedelta(hours=h) for h in range(1, 8 * 24)]
    ApiCallBucket.objects.bulk_create([ApiCallBucket(connection=connection, hour=h, kind="realtime", calls=40) for h in hours]
                                      + [ApiCallBucket(connection=connection, hour=this_hour, kind="realtime", calls=900)])
    alerts_run(now=now)
    incident = AlertIncident.objects.get()
    assert incident.kind == AlertKind.USAGE_ANOMALY and "900 calls" in incident.detail
    assert mail.outbox[0].subject == "[Cothon] Production org: API usage anomaly"


def test_each_tenants_incidents_go_to_its_own_recipients_only(alice, bob, connection):
    _configure(alice.tenant, recipients=["ops@alice.example"])
    _configure(bob.tenant, recipients=["ops@bob.example"])
    theirs = SalesforceConnection.objects.create(tenant=bob.tenant, name="Bob org", login_url="https://login.salesforce.com",
                                                 status=ConnectionStatus.CONNECTED)
    get_governor().pause(theirs.pk, 3600)
    alerts_run()
    assert [(m.to, m.subject) for m in mail.outbox] == [(["ops@bob.example"], "[Cothon] Bob org: paused by API limit")]
    assert AlertIncident.objects.get().tenant_id == bob.tenant.pk


def test_a_kind_switched_off_does_not_alert_and_alerts_off_send_nothing(alice, bob, connection):
    _configure(alice.tenant, kinds=[AlertKind.NEEDS_RECONNECT, AlertKind.ERROR_RATE])
    get_governor().pause(connection.pk, 3600)
    alerts_run()
    assert AlertIncident.objects.count() == 0 and mail.outbox == []
    services.alert_settings_save(tenant=alice.tenant, enabled=False, recipients=["ops@alice.example"], webhook_url="",
                                 kinds=[k.value for k in AlertKind])
    alerts_run()
    assert AlertIncident.objects.count() == 0 and mail.outbox == []


def test_switching_a_kind_off_closes_its_open_incident_without_a_message(alice, connection):
    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    alerts_run()
    _configure(alice.tenant, kinds=[AlertKind.NEEDS_RECONNECT])
    alerts_run()
    assert AlertIncident.objects.get().resolved_at is not None and len(mail.outbox) == 1


def test_a_webhook_that_fails_is_retried_later_and_sent_once_it_is_back(alice, connection, receiver):
    _configure(alice.tenant, recipients=[], url=receiver.url)
    receiver.status = 500
    get_governor().pause(connection.pk, 3600)
    alerts_run()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1) and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()
    alerts_run()  # not due yet: no second request
    assert len(receiver.requests) == 1
    receiver.status = 200
    alerts_run(now=_later(2))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == (DeliveryStatus.SENT, 2, 2)
    alerts_run(now=_later(30))
    assert len(receiver.requests) == 2


def test_a_closed_port_is_retried_with_backoff_then_failed_and_retry_sends_it(alice, connection, closed_port, receiver):
    _configure(alice.tenant, recipients=[], url=f"http://127.0.0.1:{closed_port}/hook")
    get_governor().pause(connection.pk, 3600)
    alerts_evaluate()
    at = timezone.now()
    waits = []
    for _ in range(services.MAX_ATTEMPTS):
        alert_deliveries_send_due(now=at)
        delivery = AlertDelivery.objects.get()
        waits.append(round((delivery.next_attempt_at - at).total_seconds()))
        at = delivery.next_attempt_at
    assert waits[:-1] == [60, 300, 900, 1800, 3600, 7200, 14400]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, services.MAX_ATTEMPTS)
    assert "ConnectionError" in delivery.last_error
    alert_deliveries_send_due(now=at + datetime.timedelta(days=1))
    assert AlertDelivery.objects.get().attempts == services.MAX_ATTEMPTS  # failed stays failed
    # The admin fixes the URL, then Retry.
    _configure(alice.tenant, recipients=[], url=receiver.url)
    services.alert_delivery_retry(tenant=alice.tenant, pk=delivery.pk)
    alert_deliveries_send_due()
    assert AlertDelivery.objects.get().status == DeliveryStatus.SENT and len(receiver.requests) == 1


def test_an_smtp_failure_is_retried(alice, connection, closed_port, settings):
    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 3
    alerts_run()
    delivery = AlertDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and "E-mail not sent" in delivery.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alerts_run(now=_later(2))
    assert AlertDelivery.objects.get().status == DeliveryStatus.SENT and len(mail.outbox) == 1


def test_a_crash_between_recording_the_incident_and_sending_leaves_it_to_the_next_run(alice, connection, monkeypatch):
    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)

    def killed(**kwargs):
        raise SystemExit("kill -9")

    monkeypatch.setattr(services, "alert_deliveries_send_due", killed)
    with pytest.raises(SystemExit):
        services.alerts_run()
    assert AlertIncident.objects.count() == 1 and mail.outbox == []
    assert AlertDelivery.objects.get().status == DeliveryStatus.PENDING
    monkeypatch.undo()
    services.alerts_run()
    assert len(mail.outbox) == 1 and AlertIncident.objects.count() == 1


def test_a_sender_killed_mid_send_leaves_the_delivery_due_again_after_its_lease(alice, connection, monkeypatch):
    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    alerts_evaluate()
    monkeypatch.setattr(services, "_send", lambda *a, **k: (_ for _ in ()).throw(SystemExit("kill -9")))
    with pytest.raises(SystemExit):
        alert_deliveries_send_due()
    monkeypatch.undo()
    alert_deliveries_send_due()  # still leased by the dead sender
    assert mail.outbox == []
    alert_deliveries_send_due(now=_later(3))
    assert len(mail.outbox) == 1


def test_two_evaluators_at_once_open_one_incident_and_claim_each_delivery_once(alice, connection):
    _configure(alice.tenant)
    row = services.alert_settings_for(tenant=alice.tenant)
    now = timezone.now()
    # Both saw no open incident; the second insert meets the partial unique constraint.
    assert services._incident_open(row, connection, AlertKind.QUOTA_PAUSED, text="t", fix="f", now=now) == 1
    assert services._incident_open(row, connection, AlertKind.QUOTA_PAUSED, text="t", fix="f", now=now) == 0
    assert AlertIncident.objects.count() == 1 and AlertDelivery.objects.count() == 1
    delivery = AlertDelivery.objects.get()
    assert services._claim(delivery.pk, now) is True
    assert services._claim(delivery.pk, now) is False
    incident = AlertIncident.objects.get()
    assert services._incident_resolve(incident, now=now, row=row) == 1
    assert services._incident_resolve(incident, now=now, row=row) == 0
    assert AlertDelivery.objects.filter(event=AlertEvent.RECOVERED).count() == 1


def test_concurrent_evaluators_in_threads_send_one_email(alice, connection, transactional_db):
    import threading

    from django.db import connection as db_connection

    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    barrier = threading.Barrier(3)
    errors = []

    def run():
        try:
            barrier.wait()
            services.alerts_run()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AlertIncident.objects.count() == 1 and len(mail.outbox) == 1


def test_pending_and_disconnected_connections_are_not_watched(alice, connection):
    _configure(alice.tenant)
    connection.status = ConnectionStatus.PENDING
    connection.save()
    alerts_run()
    assert AlertIncident.objects.count() == 0


def test_a_redirect_is_not_followed_and_counts_as_a_failure(alice, connection, receiver):
    _configure(alice.tenant, recipients=[], url=receiver.url)
    receiver.status = 302
    get_governor().pause(connection.pk, 3600)
    alerts_run()
    delivery = AlertDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and "HTTP 302" in delivery.last_error
    assert len(receiver.requests) == 1


def test_an_unexpected_error_while_sending_is_a_failed_attempt_not_a_stuck_delivery(alice, connection, monkeypatch):
    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    alerts_evaluate()

    def broken(*args, **kwargs):
        raise RuntimeError("secret cannot be decrypted")

    monkeypatch.setattr(services, "_send", broken)
    alert_deliveries_send_due()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1) and "cannot be decrypted" in delivery.last_error


def test_the_beat_task_evaluates_and_sends(alice, connection):
    from sync_engine.alerts import tasks

    _configure(alice.tenant)
    get_governor().pause(connection.pk, 3600)
    tasks.evaluate.apply()
    assert AlertIncident.objects.count() == 1 and len(mail.outbox) == 1


def test_an_https_webhook_is_verified_for_its_host_name_on_the_checked_address(alice, connection, tmp_path, monkeypatch):
    import http.server
    import ssl
    import threading

    import trustme

    from sync_engine.alerts import webhook

    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append((self.headers["Host"], self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        url = f"https://localhost:{server.server_address[1]}/hook?x=1"
        assert not webhook.post(url, body=b"{}", secret="s", event="test", delivery_id="1").ok  # unknown CA: refused
        monkeypatch.setattr(webhook, "CA_BUNDLE", str(ca_file))
        result = webhook.post(url, body=b"{}", secret="s", event="test", delivery_id="1")
        assert result.ok, result.error
        assert got[-1] == (f"localhost:{server.server_address[1]}", b"{}")
    finally:
        server.shutdown()
        server.server_close()
