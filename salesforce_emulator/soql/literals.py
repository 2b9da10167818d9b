"""SOQL literal values: strings, dates, datetimes, date constants, LIKE patterns and ids.

Comparable "keys": the evaluator compares dates and datetimes as strings in one canonical form
(`YYYY-MM-DD` and `YYYY-MM-DDTHH:MM:SS.fff` in UTC), which sort like the instants they denote.
The store keeps datetimes as `YYYY-MM-DDTHH:MM:SS.000+0000`, so a stored value usually becomes
its key by slicing, without parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

# --- strings --------------------------------------------------------------------------------

_LETTER_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


class LiteralError(ValueError):
    """A malformed literal; the parser turns it into MALFORMED_QUERY at the literal's position."""


def _escape_at(raw: str, i: int) -> tuple[str, int]:
    """The character a backslash escape at raw[i] stands for, and the escape's length."""
    nxt = raw[i + 1] if i + 1 < len(raw) else ""
    if nxt and nxt in "'\"\\%_":
        # \% and \_ only matter to LIKE (a literal % or _); elsewhere they are the character.
        return nxt, 2
    if nxt and nxt.lower() in _LETTER_ESCAPES:
        return _LETTER_ESCAPES[nxt.lower()], 2  # SOQL accepts \N, \T... as well
    if nxt.lower() == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", raw[i + 2 : i + 6]):
        return chr(int(raw[i + 2 : i + 6], 16)), 6
    raise LiteralError(
        f"Invalid string literal '{raw}'. Illegal character sequence '\\{nxt}' in string literal."
    )


def unescape_string(raw: str) -> str:
    """The value of a SOQL string literal body (without quotes), e.g. `O\\'Brien` -> `O'Brien`."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\":
            ch, length = _escape_at(raw, i)
            out.append(ch)
            i += length
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def like_matcher(raw: str) -> Callable[[str], bool]:
    """A case-insensitive matcher for a LIKE pattern body (escapes kept: `\\%` is a literal %)."""
    parts: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            literal, length = _escape_at(raw, i)
            parts.append(re.escape(literal))
            i += length
            continue
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    match = re.compile("".join(parts), re.IGNORECASE | re.DOTALL).fullmatch
    return lambda value: match(value) is not None


# --- dates and datetimes --------------------------------------------------------------------

_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"
)


def parse_date(text: str) -> date:
    try:
        return date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        raise LiteralError(f"Invalid date: {text}") from None


def parse_datetime(text: str) -> datetime:
    """A SOQL/REST datetime (`...Z`, `...+05:00`, `....000+0000`) as an aware datetime."""
    m = _DATETIME_RE.match(text)
    if m is None:
        raise LiteralError(f"Invalid datetime: {text}")
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = m.groups()
    try:
        if zulu:
            tz = timezone.utc
        else:
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError
            delta = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(-delta if sign == "-" else delta)
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError:
        raise LiteralError(f"Invalid datetime: {text}") from None


def datetime_key(value: datetime) -> str:
    """Canonical comparable form of an aware datetime: UTC, millisecond precision."""
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def stored_datetime_key(value: str) -> str:
    """Key of a stored datetime string; the store's `....000+0000` form needs no parsing."""
    if len(value) == 28 and value.endswith("+0000") and value[19] == ".":
        return value[:23]
    if len(value) == 24 and value.endswith("Z") and value[19] == ".":
        return value[:23]
    try:
        return datetime_key(parse_datetime(value))
    except LiteralError:
        # Not a datetime at all: keep it comparable with itself rather than failing the query.
        return value


def date_key(value: date) -> str:
    return value.isoformat()


def stored_date_key(value: str) -> str:
    # A date field holds `YYYY-MM-DD`; be lenient with a datetime that slipped into one.
    return value[:10]


def day_start_key(day: date) -> str:
    """Datetime key of 00:00:00 UTC on `day` (date constants on datetime fields use UTC)."""
    return day.isoformat() + "T00:00:00.000"


# --- date constants (TODAY, LAST_N_DAYS:n ...) -----------------------------------------------


def _add_months(day: date, months: int) -> date:
    """First day of the month `months` away from `day`'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _week_start(day: date) -> date:
    # Weeks start on Sunday: the en_US locale, the emulator's only locale.
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


_UNIT_RE = re.compile(r"(LAST|NEXT)_(N_)?(DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)$")
_FIXED_N_DAYS_RE = re.compile(r"(LAST|NEXT)_(\d+)_DAYS$")
_AGO_RE = re.compile(r"N_(DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)_AGO$")


def _period(unit: str, today: date, offset: int) -> tuple[date, date]:
    """[start, end) of the calendar period `offset` periods away from the current one."""
    unit = unit.replace("FISCAL_", "")  # the fiscal year starts in January: fiscal = calendar
    if unit in ("DAY", "DAYS"):
        start = today + timedelta(days=offset)
        return start, start + timedelta(days=1)
    if unit in ("WEEK", "WEEKS"):
        start = _week_start(today) + timedelta(weeks=offset)
        return start, start + timedelta(weeks=1)
    if unit in ("MONTH", "MONTHS"):
        start = _add_months(today, offset)
        return start, _add_months(start, 1)
    if unit in ("QUARTER", "QUARTERS"):
        start = _add_months(_quarter_start(today), 3 * offset)
        return start, _add_months(start, 3)
    if unit in ("YEAR", "YEARS"):
        start = date(today.year + offset, 1, 1)
        return start, date(start.year + 1, 1, 1)
    raise KeyError(unit)


def date_constant_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """The [start, end) day range a date constant denotes; KeyError when the name is unknown.

    Ranges follow Salesforce's "Date Formats and Date Literals" table: LAST_N_DAYS:n covers today
    and the n days before it; NEXT_N_DAYS:n starts tomorrow; LAST_N_WEEKS:n is the n whole weeks
    before this one; N_DAYS_AGO:n is that single day.
    """
    name = name.upper()
    unit_match = _UNIT_RE.match(name)
    takes_n = bool(_AGO_RE.match(name) or (unit_match and unit_match.group(2)))
    if takes_n != (n is not None):  # TODAY:3, or LAST_N_DAYS without its ":n"
        raise KeyError(name)
    simple = {"TODAY": ("DAY", 0), "YESTERDAY": ("DAY", -1), "TOMORROW": ("DAY", 1)}
    if name in simple:
        unit, offset = simple[name]
        return _period(unit, today, offset)
    for prefix, offset in (("THIS_", 0), ("LAST_", -1), ("NEXT_", 1)):
        if name.startswith(prefix) and name[len(prefix) :] in (
            "WEEK", "MONTH", "QUARTER", "YEAR", "FISCAL_QUARTER", "FISCAL_YEAR",
        ):
            return _period(name[len(prefix) :], today, offset)
    fixed = _FIXED_N_DAYS_RE.match(name)  # LAST_90_DAYS, NEXT_90_DAYS
    if fixed:
        return date_constant_range(f"{fixed.group(1)}_N_DAYS", int(fixed.group(2)), today)
    ago = _AGO_RE.match(name)
    if ago and n is not None:
        return _period(ago.group(1), today, -n)
    if unit_match is None or n is None:
        raise KeyError(name)
    direction, unit = unit_match.group(1), unit_match.group(3)
    if unit == "DAYS":
        if direction == "LAST":
            return today - timedelta(days=n), today + timedelta(days=1)
        return today + timedelta(days=1), today + timedelta(days=n + 1)
    current_start, current_end = _period(unit, today, 0)
    if direction == "LAST":
        return _period(unit, today, -n)[0], current_start
    return current_end, _period(unit, today, n)[1]

def is_known_date_constant(name: str, n: int | None) -> bool:
    try:
        date_constant_range(name, n, date(2000, 1, 1))
    except KeyError:
        return False
    return True


# --- record ids -----------------------------------------------------------------------------

_ID_RE = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_ID_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def is_valid_id(value: str) -> bool:
    return _ID_RE.match(value) is not None


def to_18(record_id: str) -> str:
    """The 18-character, case-insensitive-safe form of a 15-character Salesforce id."""
    if len(record_id) != 15:
        return record_id
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(record_id[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _ID_SUFFIX_CHARS[bits]
    return record_id + suffix
