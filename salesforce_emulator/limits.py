"""API request allowance per org: a rolling 24-hour window (Salesforce's rule) by default, or
a fixed daily reset as an org setting. Usage lives in memory (per-minute buckets) and is saved
in the store's kv table now and then, so a restart keeps it.

Refused requests count too: Salesforce counts a call it answers with REQUEST_LIMIT_EXCEEDED,
so usage can pass the allowance (`Sforce-Limit-Info: api-usage=5003/5000`) and a client that
keeps calling while over the limit keeps the usage up."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime, timedelta

from . import clock

WINDOW_MINUTES = 24 * 60


def parse_reset_time(text: object) -> int:
    """A fixed window's daily reset "HH:MM" (UTC) as a minute of the day."""
    hour, sep, minute = str(text).partition(":")
    if not sep or not hour.isdigit() or not minute.isdigit() or \
            not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise ValueError("reset_time_utc must be HH:MM")
    return int(hour) * 60 + int(minute)


class ApiUsage:
    def __init__(self, allowance: int, window: str, reset_hour_utc: int):
        self.allowance = allowance
        self.window = window
        self.reset_minute_utc = reset_hour_utc * 60  # fixed window: minute of the UTC day
        self._buckets: dict[int, int] = defaultdict(int)  # minute number -> calls
        self.refused = 0  # calls answered REQUEST_LIMIT_EXCEEDED since /_emulator/reset
        self._lock = threading.Lock()

    @property
    def reset_hour_utc(self) -> int:
        return self.reset_minute_utc // 60

    @reset_hour_utc.setter
    def reset_hour_utc(self, hour: int) -> None:
        if not 0 <= int(hour) <= 23:
            raise ValueError("reset_hour_utc must be 0-23")
        self.reset_minute_utc = int(hour) * 60

    @staticmethod
    def _minute(when: datetime) -> int:
        return int(when.timestamp() // 60)

    def _window_start(self, now: datetime) -> int:
        if self.window == "fixed":
            reset = now.replace(hour=self.reset_minute_utc // 60,
                                minute=self.reset_minute_utc % 60, second=0, microsecond=0)
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
        """Count one call; it is refused when the allowance was already spent (and counted
        all the same, as Salesforce does). Returns (allowed, used after)."""
        used = self.used()
        with self._lock:
            self._buckets[self._minute(clock.now())] += 1
            if used >= self.allowance:
                self.refused += 1
        return used < self.allowance, used + 1

    def set_used(self, used: int, minutes_ago: int = 0) -> None:
        """Replace the usage by `used` calls made `minutes_ago` minutes before now (a rolling
        window frees them 24 h after that minute)."""
        if used < 0 or minutes_ago < 0:
            raise ValueError("used and minutes_ago must not be negative")
        with self._lock:
            self._buckets.clear()
            if used:
                self._buckets[self._minute(clock.now()) - minutes_ago] = used

    def reset_usage(self) -> None:
        """Forget every counted call: what the daily reset (fixed window) or the 24 h window
        moving past the calls (rolling) does, without moving the clock (sessions stay valid)."""
        with self._lock:
            self._buckets.clear()

    def age(self, minutes: int) -> None:
        """Move every counted call `minutes` into the past, as if that much time had passed
        for the allowance only (the clock and sessions are untouched)."""
        if minutes < 0:
            raise ValueError("age_minutes must not be negative")
        with self._lock:
            moved = {m - minutes: c for m, c in self._buckets.items()}
            self._buckets.clear()
            self._buckets.update(moved)

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
                "reset_hour_utc": self.reset_hour_utc, "reset_minute_utc": self.reset_minute_utc,
                "buckets": {str(k): v for k, v in buckets.items()}}

    def restore(self, data: dict) -> None:
        self.allowance = int(data.get("allowance", self.allowance))
        self.window = data.get("window", self.window)
        self.reset_minute_utc = int(data.get("reset_minute_utc",
                                             int(data.get("reset_hour_utc",
                                                          self.reset_hour_utc)) * 60))
        with self._lock:
            self._buckets.clear()
            for key, value in (data.get("buckets") or {}).items():
                self._buckets[int(key)] = int(value)

    def status(self) -> dict:
        used = self.used()
        return {"allowance": self.allowance, "used": used,
                "remaining": max(self.allowance - used, 0), "window": self.window,
                "reset_hour_utc": self.reset_hour_utc,
                "reset_time_utc": f"{self.reset_minute_utc // 60:02d}:{self.reset_minute_utc % 60:02d}",
                "refused": self.refused,
                "next_capacity_at": self.next_capacity_at(),
                "now": clock.sf_datetime()}
