"""Events other apps may react to, so `integrations/` never imports the sync engine above it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a disconnected connection is connected again (after the commit), with
# `connection`. The sync engine queues what changed while it was disconnected.
connection_reconnected = Signal()

# Sent after a connection is connected (first connect or reconnect), with `connection`. The
# sync engine sets up the org's real-time Outbound Message (best effort).
connection_connected = Signal()

# Sent after a new settings version is saved, with `connection` and `version`. The sync engine
# brings the org's Outbound Message up to date (it carries the mapped fields).
settings_saved = Signal()
