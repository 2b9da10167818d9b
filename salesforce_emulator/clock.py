"""The emulator's movable clock (test hooks move it; it is shared by every org)."""

from __future__ import annotations

import re
import threading
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(timezone.utc) + _offset


def advance(seconds: float) -> datetime:
    global _offset
    with _lock:
        _offset += timedelta(seconds=seconds)
    return now()


def set_now(when: datetime) -> datetime:
    global _offset
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    with _lock:
        _offset = when - datetime.now(timezone.utc)
    return now()


def reset() -> None:
    global _offset
    with _lock:
        _offset = timedelta(0)


def offset_seconds() -> float:
    return _offset.total_seconds()


def sf_datetime(when: datetime | None = None) -> str:
    """Salesforce's JSON datetime form: 2024-01-31T12:00:00.000+0000 (always UTC)."""
    when = (when or now()).astimezone(timezone.utc)
    # isoformat is several times faster than strftime, and this runs for every record written.
    return when.isoformat(timespec="milliseconds")[:-6] + "+0000"


def parse_datetime(text: str) -> datetime | None:
    """Parse the datetime forms clients send (Z, +00:00, +0000, with or without millis)."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # +0000 -> +00:00 so fromisoformat (3.11) accepts it
    if len(value) >= 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    if "T" not in value and " " in value.strip():
        value = value.replace(" ", "T", 1)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if "T" not in value:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


_RELATIVE = re.compile(r"^@(when|date):([+-]\d+)d(?: (\d{1,2}):(\d{2}))?$")


def relative_seed_value(value: str, zone: str) -> str:
    """A seed value relative to the day the org is seeded, so demo appointments fall around
    today whenever the org is (re)seeded: "@when:+1d 14:30" is tomorrow at 14:30 in the org's
    time zone (as a UTC datetime), "@date:-3d" the date three days ago."""
    match = _RELATIVE.match(value)
    if match is None:
        raise ValueError(f"Relative seed value {value!r}: use @when:+Nd HH:MM or @date:+Nd")
    kind, days, hour, minute = match.groups()
    local_today = now().astimezone(ZoneInfo(zone)).date() + timedelta(days=int(days))
    if kind == "date":
        return local_today.isoformat()
    local = datetime.combine(local_today, time(int(hour or 0), int(minute or 0)), tzinfo=ZoneInfo(zone))
    return sf_datetime(local.astimezone(timezone.utc))
