"""The upload task: registered with the Celery app the workers run (CELERY_IMPORTS: it lives in
routing_tasks.py, which autodiscovery does not find), and a thin call of the service."""

from __future__ import annotations

import pytest

from sync_engine.appointments.models import DeliveryStatus, RoutingKind
from sync_engine.appointments.upload import UPLOAD_TASK, route_file

pytestmark = [pytest.mark.django_db, pytest.mark.emulator]


def test_the_worker_app_knows_the_upload_task():
    from cothon.celery import app

    app.loader.import_default_modules()
    assert UPLOAD_TASK in app.tasks


def test_the_task_uploads_the_file(alice, appointment, contract_rule):
    from sync_engine.appointments.routing_tasks import route_upload

    appt, _ = appointment
    routed = route_file(tenant=alice.tenant, appointment=appt, kind=RoutingKind.CONTRACT, content=b"%PDF-1.4", actor=None, context={})
    route_upload.run(routed.pk)
    routed.refresh_from_db()
    assert routed.status == DeliveryStatus.UPLOADED
    route_upload.run(987654321)  # a file deleted meanwhile: nothing to do
