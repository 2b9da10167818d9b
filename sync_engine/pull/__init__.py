"""Salesforce → Cothon: the pull half of the sync (issue 16 §2).

- `apply`        pull_apply: Salesforce records in, Cothon opportunities updated/created, links settled
- `incremental`  the watermark-driven incremental pull (queryAll on SystemModstamp, 2,000-row pages)
- `outbound`     the Outbound Message receiver's parsing and durable storage; notification processing
- `rules`        ensure_outbound_rules: the org's Outbound Message + workflow rule (Tooling API)
- `schedule`     which connections are due an incremental pull (beat)
- `models`       PullWatermark, InboundNotification (app label `sync_pull`)
"""
