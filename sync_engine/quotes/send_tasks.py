"""The thin task of Send to Salesforce: an id in, one service call (real-time queue).

Its own module (not sync_engine/quotes/tasks.py, the inbound flow's) and found by
cothon/celery.py's second autodiscovery; sync_engine.quotes.send enqueues it by name."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="sync_quotes.quote_send", ignore_result=True)
def quote_send(send_id: int) -> None:
    from sync_engine.quotes.send import quote_send_run

    quote_send_run(send_id=send_id)
