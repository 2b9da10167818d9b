"""Routed files in the UI and the API: the list with Retry, the download, /api/v1/routed-files/
(list, one, retry), and another tenant's file a 404 everywhere."""

from __future__ import annotations

import pytest
from django.core import mail

from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind
from sync_engine.appointments.upload import route_file, routed_file_upload

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def failed_file(alice, appointment, contract_rule, emulator_reset):
    appt, _ = appointment
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=503, count=1)
    routed = route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=PDF, actor=alice.member, context={})
    routed = routed_file_upload(routed_file_id=routed.pk)
    assert routed.status == DeliveryStatus.FAILED
    return routed


def test_the_files_page_shows_the_failure_and_retry_uploads_it(alice, connected, failed_file, web_as,
                                                               django_capture_on_commit_callbacks, monkeypatch):
    client = web_as(alice.admin)
    base = f"/settings/integrations/salesforce/{connected.pk}/routing/files/"
    page = client.get(base).content.decode()
    assert failed_file.file_name in page and "SERVER_UNAVAILABLE" in page and "E-mailed to the backup recipients" in page
    assert f"{base}{failed_file.pk}/retry/" in page

    sent = []
    monkeypatch.setattr("sync_engine.wakeups.send_named", lambda name, *, args, queue: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{base}{failed_file.pk}/retry/")
    assert response.status_code == 302 and sent == [[failed_file.pk]]
    routed = routed_file_upload(routed_file_id=failed_file.pk)
    assert routed.status == DeliveryStatus.UPLOADED
    page = client.get(base).content.decode()
    assert "Uploaded" in page and f"{base}{failed_file.pk}/retry/" not in page

    download = client.get(f"{base}{failed_file.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_the_api_lists_and_retries_routed_files(alice, failed_file, api_as):
    api = api_as(alice.admin_membership)
    listed = api.get("/api/v1/routed-files/?status=failed").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [failed_file.pk]
    assert rows[0]["error_code"] == "SERVER_UNAVAILABLE" and rows[0]["backup_sent_at"]
    one = api.get(f"/api/v1/routed-files/{failed_file.pk}/").json()
    assert one["status"] == "failed" and one["file_name"] == failed_file.file_name

    response = api.post(f"/api/v1/routed-files/{failed_file.pk}/retry/")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert routed_file_upload(routed_file_id=failed_file.pk).status == DeliveryStatus.UPLOADED
    again = api.post(f"/api/v1/routed-files/{failed_file.pk}/retry/")
    assert again.status_code == 409 and again.json()["code"] == "not_retryable"
    assert len(mail.outbox) == 1


def test_another_tenants_file_is_a_404_in_the_api_and_the_pages(alice, bob, connected, failed_file, api_as, web_as, client):
    api = api_as(bob.admin_membership)
    assert api.get(f"/api/v1/routed-files/{failed_file.pk}/").status_code == 404
    assert api.post(f"/api/v1/routed-files/{failed_file.pk}/retry/").status_code == 404
    listed = api.get("/api/v1/routed-files/").json()
    assert (listed["results"] if isinstance(listed, dict) else listed) == []
    web_as(bob.admin)
    base = f"/settings/integrations/salesforce/{connected.pk}/routing/files/{failed_file.pk}/"
    assert client.post(base + "retry/").status_code == 404
    assert client.get(base + "download/").status_code == 404
    assert RoutedFile.objects.get(pk=failed_file.pk).status == DeliveryStatus.FAILED
    # Members do not manage routing.
    assert api_as(alice.member_membership).get("/api/v1/routed-files/").status_code == 403
