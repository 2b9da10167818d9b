"""The org's API allowance: refused requests are counted as Salesforce counts them, and the
test hooks that exhaust the allowance and bring capacity back (rolling 24 h window and fixed
daily reset) without moving sessions' clock unless asked to."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

pytestmark = pytest.mark.emulator
REFUSED = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]


def _usage(response) -> tuple[int, int]:
    used, allowance = response.headers["Sforce-Limit-Info"].removeprefix("api-usage=").split("/")
    return int(used), int(allowance)


def _now(handle) -> datetime:
    return datetime.fromisoformat(handle.client.clock()["now"].replace("+0000", "+00:00"))


def test_refused_requests_are_counted(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    handle.client.set_limits("demo", allowance=3, used=0)
    for expected in (1, 2, 3):
        ok = session.get(f"{handle.api()}/limits")
        assert ok.status_code == 200 and _usage(ok) == (expected, 3)
    for expected in (4, 5):
        refused = session.get(f"{handle.api()}/sobjects/Account/describe")
        assert refused.status_code == 403 and refused.json() == REFUSED
        assert _usage(refused) == (expected, 3)
    status = handle.client.limits("demo")
    assert status["used"] == 5 and status["remaining"] == 0 and status["refused"] == 2
    counters = {c["endpoint"]: c["count"] for c in handle.client.counters("demo")["counters"]}
    assert counters["GET /services/data/v<version>/sobjects/<sobject>/describe"] == 2
    # the refused calls keep the usage up: one more allowance is still not enough
    handle.client.set_limits("demo", allowance=5)
    assert session.get(f"{handle.api()}/limits").status_code == 403


def test_rolling_window_capacity_returns_as_the_oldest_calls_age_out(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    status = handle.client.exhaust_api("demo", minutes_ago=24 * 60 - 5)
    assert status["used"] == status["allowance"] == 5000 and status["window"] == "rolling"
    next_at = datetime.fromisoformat(status["next_capacity_at"].replace("+0000", "+00:00"))
    assert timedelta(minutes=3) < next_at - _now(handle) <= timedelta(minutes=5)
    assert session.get(f"{handle.api()}/limits").status_code == 403
    handle.client.advance_clock(6 * 60)  # the exhausting calls leave the 24 h window
    back = session.get(f"{handle.api()}/limits")  # same session: a 2 h session survives 6 min
    assert back.status_code == 200
    assert _usage(back) == (2, 5000)  # the refused call and this one


def test_rolling_window_usage_can_age_without_moving_the_clock(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    handle.client.exhaust_api("demo")
    assert session.get(f"{handle.api()}/limits").status_code == 403
    clock_before = handle.client.clock()["offset_seconds"]
    handle.client.age_api_usage(23 * 60, "demo")
    assert session.get(f"{handle.api()}/limits").status_code == 403  # still inside 24 h
    handle.client.age_api_usage(60, "demo")
    assert session.get(f"{handle.api()}/limits").status_code == 200
    assert handle.client.clock()["offset_seconds"] == clock_before


def test_fixed_daily_reset_brings_capacity_back_at_the_reset_time(emulator_reset):
    handle = emulator_reset
    session = handle.session()
    reset_at = (_now(handle) + timedelta(minutes=10)).strftime("%H:%M")
    status = handle.client.set_limits("demo", window="fixed", reset_time_utc=reset_at)
    assert status["reset_time_utc"] == reset_at and status["window"] == "fixed"
    status = handle.client.exhaust_api("demo")
    next_at = datetime.fromisoformat(status["next_capacity_at"].replace("+0000", "+00:00"))
    assert next_at.strftime("%H:%M") == reset_at
    assert session.get(f"{handle.api()}/limits").status_code == 403
    handle.client.advance_clock(5 * 60)
    assert session.get(f"{handle.api()}/limits").status_code == 403  # before the reset
    handle.client.advance_clock(6 * 60)
    back = session.get(f"{handle.api()}/limits")
    assert back.status_code == 200 and _usage(back) == (1, 5000)


@pytest.mark.parametrize("window", ["rolling", "fixed"])
def test_reset_usage_hook_restores_capacity_in_either_window(emulator_reset, window):
    handle = emulator_reset
    session = handle.session()
    handle.client.set_limits("demo", window=window, reset_hour_utc=0)
    handle.client.exhaust_api("demo")
    assert session.get(f"{handle.api()}/limits").status_code == 403
    status = handle.client.reset_api_usage("demo")
    assert status["used"] == 0
    if window == "rolling":
        assert status["next_capacity_at"] is None  # nothing left to age out
    assert session.get(f"{handle.api()}/limits").status_code == 200


@pytest.mark.parametrize("body", [{"reset_time_utc": "25:00"}, {"reset_time_utc": "noon"},
                                  {"reset_hour_utc": 24}, {"used": -1}, {"age_minutes": -5},
                                  {"used": 1, "used_minutes_ago": -1}, {"window": "weekly"},
                                  {"used": "many"}])
def test_limits_hook_refuses_bad_input(emulator_reset, body):
    handle = emulator_reset
    before = handle.client.limits("demo")
    with pytest.raises(requests.HTTPError) as err:
        handle.client.set_limits("demo", **body)
    assert err.value.response.status_code == 400
    after = handle.client.limits("demo")
    assert (after["allowance"], after["window"], after["reset_time_utc"]) == (
        before["allowance"], before["window"], before["reset_time_utc"])
