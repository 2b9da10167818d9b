"""Thin Celery tasks of the alerts: one service call each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_engine.alerts.evaluate", ignore_result=True)
def evaluate() -> None:
    """Every minute (beat): open/resolve incidents from the connections' health, then send what is due."""
    from sync_engine.alerts.services import alerts_run

    alerts_run()


@shared_task(name="sync_engine.alerts.send_delivery", ignore_result=True)
def send_delivery(delivery_id: int) -> None:
    """One delivery made due now (Retry in Settings › Alerts)."""
    from sync_engine.alerts.services import alert_delivery_send

    alert_delivery_send(delivery_id=delivery_id)
