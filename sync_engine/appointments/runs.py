"""Starting appointment pulls: the "Refresh appointments" button and the schedule (beat, every
minute: each connection with appointments switched on, every `frequencies.incremental_minutes`
like the opportunity pull). The pull itself is `pull.appointments_pull_run`, in a task."""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import sync_settings_for
from sync_engine.appointments.models import ACTIVE_PULL_STATUSES, AppointmentPull, AppointmentSettings, PullStatus, PullTrigger

logger = logging.getLogger(__name__)

TASK = "sync_engine.appointments.pull"
QUEUE = "default"
# A queued pull no worker took within this, or a running one whose lease ran out, is sent again.
STALLED_AFTER = datetime.timedelta(minutes=2)


def _send(pull_id: int) -> None:
    from sync_engine import wakeups

    try:
        wakeups.send_named(TASK, args=[pull_id], queue=QUEUE)
    except Exception:  # noqa: BLE001 - the schedule sends a stalled pull again
        logger.warning("Could not enqueue appointment pull %s", pull_id, exc_info=True)


def pull_stalled(run: AppointmentPull, *, now: datetime.datetime | None = None) -> bool:
    now = now or timezone.now()
    if run.status == PullStatus.QUEUED:
        return run.created_at + STALLED_AFTER < now
    return run.status == PullStatus.RUNNING and (run.lease_until is None or run.lease_until < now)


def appointment_pull_start(*, connection: SalesforceConnection, trigger: str = PullTrigger.MANUAL, actor=None) -> AppointmentPull:
    """Queue a pull of the connection's appointments and return it; the task is sent when the
    transaction commits. A pull already queued or running is returned instead (a stalled one
    is sent again)."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ValidationError(f"The connection “{connection.name}” is {connection.get_status_display().lower()}: reconnect it first.")
    settings = AppointmentSettings.objects.filter(connection=connection).first()
    if settings is None or not settings.enabled or not settings.soql.strip():
        raise ValidationError("Appointments are not switched on for this connection: an admin sets them up in "
                              "Workflow › CRM and Appointments.")
    with transaction.atomic():
        active = AppointmentPull.objects.select_for_update().filter(connection=connection, status__in=ACTIVE_PULL_STATUSES).first()
        if active is not None:
            if pull_stalled(active):
                transaction.on_commit(lambda: _send(active.pk))
            return active
        try:
            with transaction.atomic():
                run = AppointmentPull.objects.create(tenant_id=connection.tenant_id, connection=connection, trigger=trigger,
                                                     requested_by=actor)
        except IntegrityError:  # started by someone else a moment ago
            return AppointmentPull.objects.get(connection=connection, status__in=ACTIVE_PULL_STATUSES)
        run_id = run.pk
        transaction.on_commit(lambda: _send(run_id))
    return run


def scheduled_appointment_pulls(*, now: datetime.datetime | None = None) -> list[int]:
    """Beat: start a pull for each connected connection with appointments on whose last pull
    started `incremental_minutes` ago or more (or never). Returns the pulls started."""
    now = now or timezone.now()
    started: list[int] = []
    settings_rows = AppointmentSettings.objects.filter(enabled=True, connection__status=ConnectionStatus.CONNECTED).exclude(
        soql="").select_related("connection__tenant")
    for row in settings_rows:
        connection = row.connection
        minutes = sync_settings_for(connection=connection).frequencies.incremental_minutes or 15
        last = AppointmentPull.objects.filter(connection=connection).order_by("-id").first()
        if last is not None and last.active and not pull_stalled(last, now=now):
            continue
        if last is not None and not last.active and last.created_at > now - datetime.timedelta(minutes=minutes):
            continue
        try:
            run = appointment_pull_start(connection=connection, trigger=PullTrigger.SCHEDULED)
        except ValidationError:
            continue
        started.append(run.pk)
    return started
