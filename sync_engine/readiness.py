"""Readiness (/readyz, docs/monitoring.md): is the database, the broker, every queue's worker
and beat there? And the heartbeats that tell the last two.

Workers beat from a daemon thread started when the worker is ready (`worker_ready`), every
`HEARTBEAT_SECONDS`, writing one `ProcessHeartbeat` row per worker node with the queues it
consumes; a killed worker stops beating, a worker shut down cleanly removes its row. Beat is
seen through its most frequent tick: the outbox sweeper (every 15 s) records each run."""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection as db, connections
from django.utils import timezone

from sync_engine.models import ProcessHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
FORGET_AFTER = datetime.timedelta(days=1)
BEAT = "beat"
CHECK_TIMEOUT = 2.0  # seconds: a readiness probe answers quickly or reports the check as failed


@dataclass
class Check:
    ok: bool
    detail: str
    age_seconds: float | None = None


def record_heartbeat(*, name: str, kind: str, queues: str = "") -> None:
    now = timezone.now()
    updated = ProcessHeartbeat.objects.filter(name=name).update(kind=kind, queues=queues[:200], last_seen=now)
    if not updated:
        ProcessHeartbeat.objects.update_or_create(name=name[:200], defaults={"kind": kind, "queues": queues[:200], "last_seen": now})


def record_beat_tick() -> None:
    """Called by the outbox sweeper, which beat sends every 15 s. Also forgets workers not seen
    for a day (killed with their host: a container recreated under a new name), so the table
    stays as small as the fleet."""
    record_heartbeat(name=BEAT, kind="beat")
    ProcessHeartbeat.objects.filter(kind="worker", last_seen__lt=timezone.now() - FORGET_AFTER).delete()


def forget_heartbeat(*, name: str) -> None:
    ProcessHeartbeat.objects.filter(name=name).delete()


def start_worker_heartbeat(*, name: str, queues: list[str], every: float = HEARTBEAT_SECONDS) -> threading.Event:
    """Beat now and then every `every` seconds from a daemon thread (its own database
    connection); set the returned event to stop."""
    stop = threading.Event()
    joined = ",".join(sorted(queues))

    def beat() -> None:
        failing = False
        try:
            while True:
                try:
                    record_heartbeat(name=name, kind="worker", queues=joined)
                except DatabaseError as exc:
                    # The database down or not migrated yet: one line when it starts, not a
                    # traceback every beat (readiness shows the worker stale meanwhile).
                    if not failing:
                        logger.warning("Worker heartbeat not recorded (%s: %s); retrying every %.0f s",
                                       type(exc).__name__, exc, every)
                    failing = True
                except Exception:  # noqa: BLE001 - a missed beat only makes readiness stale
                    logger.warning("Worker heartbeat failed; retrying at the next beat", exc_info=True)
                    failing = True
                else:
                    if failing:
                        logger.info("Worker heartbeat recorded again")
                    failing = False
                finally:
                    connections.close_all()
                if stop.wait(every):
                    return
        finally:
            connections.close_all()

    threading.Thread(target=beat, name="cothon-worker-heartbeat", daemon=True).start()
    return stop


# --- the checks ------------------------------------------------------------------------------

def check_database() -> Check:
    started = time.monotonic()
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready"; the class only, no DSN
        return Check(False, f"database unreachable ({type(exc).__name__})")
    return Check(True, f"{db.vendor}, SELECT 1 in {1000 * (time.monotonic() - started):.0f} ms")


def check_broker(url: str | None = None, transport_options: dict | None = None) -> Check:
    """Redis: PING with a short timeout. The embedded broker (`cothonfs://`): its queue folder
    exists, is a folder and is writable. Anything else: a kombu connection, one try. The
    detail names the transport and host, never the URL (it may hold a password)."""
    url = url if url is not None else settings.CELERY_BROKER_URL
    options = transport_options if transport_options is not None else getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    scheme = urlsplit(url).scheme
    try:
        if scheme in ("redis", "rediss"):
            import redis

            client = redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT)
            try:
                client.ping()
            finally:
                client.close()
            return Check(True, f"redis at {urlsplit(url).hostname}:{urlsplit(url).port or 6379} answers PING")
        from cothon.broker import TRANSPORT_ALIAS

        if scheme == TRANSPORT_ALIAS:
            folder = options.get("data_folder_in", "")
            if not folder or not os.path.isdir(folder):
                return Check(False, "embedded broker: the queue folder is missing")
            if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
                return Check(False, "embedded broker: the queue folder is not writable")
            return Check(True, "embedded broker: queue folder present and writable")
        from kombu import Connection

        with Connection(url, connect_timeout=CHECK_TIMEOUT, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)
        return Check(True, f"{scheme} broker reachable")
    except Exception as exc:  # noqa: BLE001 - unreachable for whatever reason: not ready
        return Check(False, f"{scheme or 'broker'} unreachable ({type(exc).__name__})")


def check_workers(queues: list[str] | None = None, max_age: float | None = None) -> Check:
    """Every required queue has a worker that beat within `max_age` seconds."""
    queues = queues if queues is not None else settings.COTHON_READY_QUEUES
    max_age = max_age if max_age is not None else settings.COTHON_READY_WORKER_MAX_AGE
    now = timezone.now()
    newest: dict[str, float] = {}
    for beat_queues, seen in ProcessHeartbeat.objects.filter(kind="worker").values_list("queues", "last_seen"):
        age = (now - seen).total_seconds()
        for queue in beat_queues.split(","):
            newest[queue] = min(age, newest.get(queue, age))
    missing = [q for q in queues if q not in newest]
    stale = [q for q in queues if q in newest and newest[q] > max_age]
    age = max((newest.get(q, 0.0) for q in queues), default=None)
    if missing or stale:
        parts = ([f"no worker heartbeat for queue(s) {', '.join(missing)}"] if missing else []) + (
            [f"last heartbeat for {', '.join(stale)} older than {max_age:g} s"] if stale else [])
        return Check(False, "; ".join(parts), age if not missing else None)
    return Check(True, f"workers seen for {', '.join(queues)}", age)


def check_beat(max_age: float | None = None) -> Check:
    max_age = max_age if max_age is not None else settings.COTHON_READY_BEAT_MAX_AGE
    seen = ProcessHeartbeat.objects.filter(name=BEAT).values_list("last_seen", flat=True).first()
    if seen is None:
        return Check(False, "beat has not ticked yet (no outbox sweep recorded)")
    age = max(0.0, (timezone.now() - seen).total_seconds())
    if age > max_age:
        return Check(False, f"beat's last tick (outbox sweep) older than {max_age:g} s", age)
    return Check(True, "beat ticking (outbox sweep)", age)


CHECKS = {"database": check_database, "broker": check_broker, "workers": check_workers, "beat": check_beat}
# The web container's own health: what web needs to serve requests and queue work. Workers
# and beat are their own containers; a web container restarted because a worker died helps nobody.
WEB_SCOPE = ("database", "broker")


def readiness(scope: str = "all") -> tuple[bool, dict[str, dict]]:
    names = WEB_SCOPE if scope == "web" else tuple(CHECKS)
    results: dict[str, dict] = {}
    for name in names:
        # The later checks read the database: skip them, named, when it is down.
        if name in ("workers", "beat") and not results.get("database", {}).get("ok", True):
            results[name] = asdict(Check(False, "not checked: database unreachable"))
            continue
        results[name] = asdict(CHECKS[name]())
    return all(r["ok"] for r in results.values()), results
