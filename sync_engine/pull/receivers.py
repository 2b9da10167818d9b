"""Receivers of `integrations/` events: each calls one service, nothing more."""

from __future__ import annotations

from sync_engine.pull.rules import outbound_rules_refresh_later


def on_connection_connected(sender, *, connection, **kwargs) -> None:
    outbound_rules_refresh_later(connection_id=connection.pk)  # real-time pull: the org's Outbound Message


def on_settings_saved(sender, *, connection, **kwargs) -> None:
    # The Outbound Message carries the mapped fields: bring it up to date (best effort, after commit).
    outbound_rules_refresh_later(connection_id=connection.pk)
