"""`manage.py heartbeat_check --worker`: exit 0 when a Celery worker of this host beat
recently (its node name ends in @<hostname>, as `-n name@%h` makes it), else 1. The worker
containers' healthcheck (docker-compose.yml, docs/monitoring.md)."""

from __future__ import annotations

import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sync_engine.models import ProcessHeartbeat


class Command(BaseCommand):
    help = "Exit 1 unless a worker of this host wrote its heartbeat recently."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--worker", action="store_true", required=True)
        parser.add_argument("--max-age", type=float, default=None, help="Seconds (default COTHON_READY_WORKER_MAX_AGE).")

    def handle(self, *args, **options) -> None:
        max_age = options["max_age"] if options["max_age"] is not None else settings.COTHON_READY_WORKER_MAX_AGE
        host = socket.gethostname()
        seen = (ProcessHeartbeat.objects.filter(kind="worker", name__endswith=f"@{host}")
                .order_by("-last_seen").values_list("name", "last_seen").first())
        if seen is None:
            raise CommandError(f"no worker heartbeat from {host}")
        age = (timezone.now() - seen[1]).total_seconds()
        if age > max_age:
            raise CommandError(f"{seen[0]}: last heartbeat {age:.0f} s ago (more than {max_age:g} s)")
        self.stdout.write(f"{seen[0]}: heartbeat {age:.0f} s ago")
