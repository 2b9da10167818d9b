"""Events other apps may react to, so `integrations/` never imports the sync engine above it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a disconnected connection is connected again (after the commit), with
# `connection`. The sync engine queues what changed while it was disconnected.
connection_reconnected = Signal()
