"""API request allowance per org: a rolling 24-hour window (Salesforce's rule) by default, or
a fixed daily reset as an org setting. Usage lives in memory (per-minute buckets) and is saved
in the store's kv table now and then, so a restart keeps it."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, timedelta

from . import clock

WINDOW_MINUTES = 24 * 60


class ApiUsage:
    def __init__(self, allowance: int, window: str, reset_hour_utc: int):
        self.allowance = allowance
        self.window = window
        self.reset_hour_utc = reset_hour_utc
        self._buckets: dict[int, int] = defaultdict(int)  # minute number -> calls
        self._lock = threading.Lock()

    @staticmethod
    def _minute(when: datetime) -> int:
        return int(when.timestamp() // 60)

    def _window_start(self, now: datetime) -> int:
        if self.window == "fixed":
            reset = now.replace(hour=self.reset_hour_utc, minute=0, second=0, microsecond=0)
            if reset > now:
                reset -= timedelta(days=1)
            return self._minute(reset)
        return self._minute(now) - WINDOW_MINUTES + 1

    def used(self) -> int:
        now = clock.now()
        start = self._window_start(now)
        end = self._minute(now)
        with self._lock:
            stale = [m for m in self._buckets if m < start - WINDOW_MINUTES]
            for minute in stale:
                del self._buckets[minute]
            return sum(c for m, c in self._buckets.items() if start <= m <= end)

    def try_consume(self) -> tuple[bool, int]:
        """Count one call unless the allowance is spent; returns (allowed, used after)."""
        used = self.used()
        if used >= self.allowance:
            return False, used
        with self._lock:
            self._buckets[self._minute(clock.now())] += 1
        return True, used + 1

    def set_used(self, used: int) -> None:
        with self._lock:
            self._buckets.clear()
            if used:
                self._buckets[self._minute(clock.now())] = used

    def next_capacity_at(self) -> str | None:
        """When the oldest counted call leaves the window (for the hooks' status)."""
        now = clock.now()
        if self.window == "fixed":
            start = self._window_start(now)
            return clock.sf_datetime(datetime.fromtimestamp((start + WINDOW_MINUTES) * 60,
                                                            tz=now.tzinfo))
        with self._lock:
            live = sorted(m for m in self._buckets if m >= self._window_start(now))
        if not live:
            return None
        return clock.sf_datetime(datetime.fromtimestamp((live[0] + WINDOW_MINUTES) * 60,
                                                        tz=now.tzinfo))

    def snapshot(self) -> dict:
        with self._lock:
            buckets = dict(self._buckets)
        return {"allowance": self.allowance, "window": self.window,
                "reset_hour_utc": self.reset_hour_utc,
                "buckets": {str(k): v for k, v in buckets.items()}}

    def restore(self, data: dict) -> None:
        self.allowance = int(data.get("allowance", self.allowance))
        self.window = data.get("window", self.window)
        self.reset_hour_utc = int(data.get("reset_hour_utc", self.reset_hour_utc))
        with self._lock:
            self._buckets.clear()
            for key, value in (data.get("buckets") or {}).items():
                self._buckets[int(key)] = int(value)

    def status(self) -> dict:
        used = self.used()
        return {"allowance": self.allowance, "used": used,
                "remaining": max(self.allowance - used, 0), "window": self.window,
                "reset_hour_utc": self.reset_hour_utc, "next_capacity_at": self.next_capacity_at(),
                "now": clock.sf_datetime()}
