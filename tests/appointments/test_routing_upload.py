"""route_file: the file kept, named from the template, uploaded as a ContentVersion on the
appointment's Salesforce record; failures (injected emulator faults, a file over 36 MB, no
Salesforce record) e-mail the file to every backup recipient once; Retry uploads it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from sync_engine.appointments.models import DeliveryStatus, RoutedFile, RoutingKind
from sync_engine.appointments.upload import MAX_UPLOAD_BYTES, RoutingUnavailable, route_file, routed_file_retry, routed_file_upload
from sync_engine.models import SyncLink
from tests.appointments.conftest import rule

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _route(alice, appointment, content=PDF, kind=RoutingKind.CONTRACT, **context):
    routed = route_file(tenant=alice.tenant, appointment=appointment, kind=kind, content=content, actor=alice.member,
                        context=context)
    return routed_file_upload(routed_file_id=routed.pk)


def _files_on(emulator, record_id):
    sf = emulator.sf()
    links = sf.query(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{record_id}'")["records"]
    docs = [link["ContentDocumentId"] for link in links]
    if not docs:
        return []
    quoted = ",".join(f"'{d}'" for d in docs)
    return sf.query(f"SELECT Id, Title, PathOnClient, VersionData, ContentSize FROM ContentVersion WHERE ContentDocumentId IN ({quoted})")["records"]


def test_it_uploads_the_file_as_a_content_version_on_the_appointments_record(alice, appointment, contract_rule, emulator_reset):
    appt, record_id = appointment
    routed = _route(alice, appt)

    assert routed.status == DeliveryStatus.UPLOADED and routed.attempts == 1 and routed.error_code == ""
    assert routed.file_name.startswith("Larry Leap Contract ")
    versions = _files_on(emulator_reset, record_id)
    assert [v["Id"] for v in versions] == [routed.salesforce_document_id]
    assert versions[0]["Title"] == routed.file_name
    assert versions[0]["PathOnClient"].startswith("Larry Leap Contract ") and versions[0]["PathOnClient"].endswith(".pdf")
    assert "/" not in versions[0]["PathOnClient"]
    body = emulator_reset.sf().session.get(emulator_reset.instance_url + versions[0]["VersionData"],
                                           headers={"Authorization": f"Bearer {emulator_reset.demo['access_token']}"})
    assert body.content == PDF
    assert mail.outbox == []
    # Kept in Cothon too.
    with routed.file.open("rb") as handle:
        assert handle.read() == PDF


def test_the_file_name_comes_from_the_template_in_the_tenants_time_zone(alice, appointment, connected):
    appt, record_id = appointment
    rule(connected, file_name_template="%lastName%, %firstName% %documentType% %appointmentDate% %recordId%")
    routed = route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=PDF, actor=None, context={})
    # 15:00 UTC is 11:00 in Toronto, the same day.
    assert routed.file_name == f"Leap, Larry Contract 5/23/30 {record_id}"
    assert routed.file.name.endswith(".pdf")


def test_an_upload_refused_by_salesforce_fails_and_emails_the_file_to_every_backup_recipient(alice, appointment, contract_rule,
                                                                                             emulator_reset):
    appt, record_id = appointment
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=400, error_code="STORAGE_LIMIT_EXCEEDED",
                                    message="storage limit exceeded")
    routed = _route(alice, appt)

    assert routed.status == DeliveryStatus.FAILED
    assert routed.error_code == "STORAGE_LIMIT_EXCEEDED" and "storage limit exceeded" in routed.error_message
    assert routed.backup_sent_at is not None
    assert _files_on(emulator_reset, record_id) == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["backup@alice.example", "office@alice.example"]
    assert "Larry Leap" in message.subject
    assert "storage limit exceeded" in message.body and "613-555-0101" in message.body and "12 Elm Street" in message.body
    assert "May 23, 2030 11:00 AM EDT" in message.body  # the organization's time zone, also from a worker
    [(name, content, mimetype)] = message.attachments
    assert name.endswith(".pdf") and content == PDF and mimetype == "application/pdf"
    assert message.extra_headers["X-Cothon-Tenant"] == str(alice.tenant.pk)


def test_a_server_error_also_fails_and_is_emailed_once(alice, appointment, contract_rule, emulator_reset):
    appt, _ = appointment
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=503)
    routed = _route(alice, appt)
    assert routed.status == DeliveryStatus.FAILED and routed.error_code == "SERVER_UNAVAILABLE"
    # A redelivered task message changes nothing and sends nothing more.
    routed_file_upload(routed_file_id=routed.pk)
    assert len(mail.outbox) == 1
    assert RoutedFile.objects.get(pk=routed.pk).attempts == 1


def test_retry_uploads_a_failed_file_and_a_new_failure_emails_again(alice, appointment, contract_rule, emulator_reset,
                                                                    django_capture_on_commit_callbacks):
    appt, record_id = appointment
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=503, count=2)
    routed = _route(alice, appt)
    assert routed.status == DeliveryStatus.FAILED and len(mail.outbox) == 1

    routed_file_retry(tenant=alice.tenant, routed_file=routed, actor=alice.admin)
    routed = routed_file_upload(routed_file_id=routed.pk)
    assert routed.status == DeliveryStatus.FAILED and routed.attempts == 2 and len(mail.outbox) == 2

    routed_file_retry(tenant=alice.tenant, routed_file=routed, actor=alice.admin)
    routed = routed_file_upload(routed_file_id=routed.pk)
    assert routed.status == DeliveryStatus.UPLOADED and routed.attempts == 3 and routed.backup_sent_at is None
    assert len(mail.outbox) == 2
    assert [v["Id"] for v in _files_on(emulator_reset, record_id)] == [routed.salesforce_document_id]

    with pytest.raises(ValidationError, match="nothing to retry"):
        routed_file_retry(tenant=alice.tenant, routed_file=routed, actor=alice.admin)


def test_a_file_over_36_mb_is_not_uploaded_and_goes_to_the_backup_recipients(alice, appointment, contract_rule, emulator_reset):
    appt, record_id = appointment
    size = MAX_UPLOAD_BYTES + 1
    content = bytes(size)  # zero-filled, built once
    routed = route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=content, actor=None, context={})
    del content  # stored on disk now: the upload and the e-mail read it from there, never two copies at once
    routed = routed_file_upload(routed_file_id=routed.pk)

    assert routed.status == DeliveryStatus.FAILED and routed.error_code == "FILE_TOO_LARGE"
    assert "36 MB" in routed.error_message and routed.size_bytes == size
    assert _files_on(emulator_reset, record_id) == []
    [message] = mail.outbox
    [(name, content, _)] = message.attachments
    assert len(content) == size
    assert "36 MB" in message.body


def test_a_file_of_exactly_36_mb_is_uploaded(alice, appointment, contract_rule, emulator_reset):
    appt, record_id = appointment
    routed = _route(alice, appt, content=b"%PDF" + bytes(MAX_UPLOAD_BYTES - 4))
    assert routed.status == DeliveryStatus.UPLOADED
    [version] = _files_on(emulator_reset, record_id)
    assert version["ContentSize"] == MAX_UPLOAD_BYTES


def test_an_appointment_without_a_salesforce_record_fails_with_the_reason(alice, appointment, contract_rule):
    appt, _ = appointment
    SyncLink.objects.filter(record_type="appointment", record_id=appt.pk).delete()
    routed = _route(alice, appt)
    assert routed.status == DeliveryStatus.FAILED and routed.error_code == "NO_SALESFORCE_RECORD"
    assert len(mail.outbox) == 1


def test_no_backup_recipients_means_no_email_and_the_page_can_say_so(alice, appointment, connected, emulator_reset):
    appt, _ = appointment
    rule(connected, backup_recipients=[])
    emulator_reset.client.add_fault(object="ContentVersion", operation="create", status=503)
    routed = _route(alice, appt)
    assert routed.status == DeliveryStatus.FAILED and routed.backup_sent_at is None and mail.outbox == []


def test_a_rule_that_is_off_routes_nothing(alice, appointment, connected):
    appt, _ = appointment
    rule(connected, enabled=False)
    with pytest.raises(RoutingUnavailable, match="off"):
        route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=PDF, actor=None, context={})
    with pytest.raises(RoutingUnavailable):
        route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.PROPOSAL, content=PDF, actor=None, context={})
    assert not RoutedFile.objects.exists()


def test_bad_input_is_refused_and_nothing_is_stored(alice, bob, appointment, contract_rule):
    appt, _ = appointment
    with pytest.raises(ValidationError, match="empty"):
        route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=b"", actor=None, context={})
    with pytest.raises(ValidationError, match="Unknown routing kind"):
        route_file(tenant=alice.tenant, appointment=appt, kind="invoice", content=PDF, actor=None, context={})
    with pytest.raises(ValidationError, match="Not this organization"):
        route_file(tenant=bob.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=PDF, actor=None, context={})
    assert not RoutedFile.objects.exists()


def test_the_upload_is_queued_after_commit(alice, appointment, contract_rule, django_capture_on_commit_callbacks, monkeypatch):
    appt, _ = appointment
    sent = []
    monkeypatch.setattr("sync_engine.wakeups.send_named", lambda name, *, args, queue: sent.append((name, args, queue)))
    with django_capture_on_commit_callbacks(execute=True):
        routed = route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=PDF, actor=None, context={})
        assert sent == []
    assert sent == [("sync_engine.appointments.route_upload", [routed.pk], "default")]


def _multi_user(connection, member, *, password="Demo-Rep-Pass-1"):
    """Multi-user sign-on with Riley Rep's own login for `member` (verified on save)."""
    from integrations.models import CredentialMode
    from integrations.user_links import user_link_set

    connection.credential_mode = CredentialMode.PER_USER
    connection.save()
    return user_link_set(connection=connection, user_id=member.pk, username="rep@cothon-demo.example.com",
                         password=password, security_token="DemoRepToken00000000001")


def test_in_multi_user_sign_on_the_file_is_uploaded_in_the_reps_own_session(alice, appointment, contract_rule, connected,
                                                                            emulator_reset):
    appt, record_id = appointment
    _multi_user(connected, alice.member)
    routed = _route(alice, appt)
    assert routed.status == DeliveryStatus.UPLOADED, routed.error_message
    sf = emulator_reset.sf()
    owner = sf.query(f"SELECT CreatedBy.Username FROM ContentVersion WHERE Id = '{routed.salesforce_document_id}'")["records"][0]
    assert owner["CreatedBy"]["Username"] == "rep@cothon-demo.example.com"


def test_in_multi_user_sign_on_a_rep_without_a_login_fails_with_the_reason_and_the_file_is_emailed(
        alice, appointment, contract_rule, connected):
    from integrations.models import CredentialMode

    appt, _record_id = appointment
    connected.credential_mode = CredentialMode.PER_USER
    connected.save()
    routed = _route(alice, appt)
    assert routed.status == DeliveryStatus.FAILED and routed.error_code
    assert "own Salesforce login" in routed.error_message
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments
