"""Thin Celery tasks of the appointment pull: ids in, one service call."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.appointments.pull", ignore_result=True)
def appointment_pull(pull_id: int) -> None:
    from sync_engine.appointments.pull import appointments_pull_run

    appointments_pull_run(pull_id=pull_id)


@shared_task(name="sync_engine.appointments.scheduled_pulls", ignore_result=True)
def scheduled_appointment_pulls() -> None:
    from sync_engine.appointments.runs import scheduled_appointment_pulls as run

    run()
