"""Reconciliation: every `frequencies.reconciliation_minutes` (default 60) per connection,
catch what real time and the incremental cycles missed, over a wider window on both sides'
modification times (`window.py`).

- `salesforce.py`: one queryAll of the mapped fields by SystemModstamp, applied through the
  pull's own `pull_apply` / `accounts_apply` (rules, review, echo suppression), the incremental
  watermark untouched.
- `cothon.py`: Cothon records changed in the window whose link is not in step, re-queued
  through the outbox at reconciliation priority (the push and its conflict guard decide).
- `service.py`: the run (a SyncRun of kind reconciliation, governor admission, counts).
- `schedule.py`: which connections are due (beat, every minute)."""
