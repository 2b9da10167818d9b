"""Receivers of other apps' events: each calls one service, nothing more."""

from __future__ import annotations

from sync_engine.services import catch_up_after_reconnect


def on_connection_reconnected(sender, *, connection, **kwargs) -> None:
    catch_up_after_reconnect(connection=connection)
