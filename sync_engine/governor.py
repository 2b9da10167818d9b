"""The rate-limit governor: spends each org's daily API allowance wisely.

Per connection it keeps what Salesforce told us (calls used / allowance, from every
`Sforce-Limit-Info` header), admits work by priority, keeps a reserve for manual and real-time
work, slows background work when the burn rate would exhaust the allowance before capacity
returns, pauses the connection when the quota is gone, and caps concurrent requests per org.

One interface, two backends (decisions.md): Redis with atomic Lua scripts in production, the
database when embedded. Both pass tests/sync_engine/test_governor.py's shared contract.

Quota windows: Salesforce counts a rolling 24 hours (the seed says "midnight Pacific"); the
governor assumes neither. It estimates when capacity returns from the usage it observes, and
a REQUEST_LIMIT_EXCEEDED pause lasts until that estimate (or an explicit probe says otherwise).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction

from sync_engine.models import Priority

# Share of the allowance background work may not touch. Manual and real-time work may use it.
DEFAULT_RESERVE = 0.10
# Background kinds give way earlier: full syncs stop at 80 % (with a 10 % reserve), etc.
_EXTRA_RESERVE = {Priority.MANUAL: 0.0, Priority.REALTIME: 0.0, Priority.INCREMENTAL: 1.0,
                  Priority.RECONCILIATION: 1.5, Priority.FULL: 2.0}
WINDOW_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Admission:
    allowed: bool
    wait_seconds: float = 0.0
    reason: str = ""
    # Why not: "paused" (quota used up), "limit" (this kind of work is at its share of the
    # allowance: only a fresh /limits reading can tell when that changes) or "slowing".
    kind: str = ""


@dataclass(frozen=True)
class GovernorStatus:
    used: int | None
    allowance: int | None
    paused_until: float | None  # epoch seconds: the next capacity check
    in_flight: int
    resume_estimate: float | None = None  # epoch seconds: when capacity is expected back (shown to users)


def threshold(allowance: int, priority: int, reserve: float = DEFAULT_RESERVE) -> int:
    """How many calls of the allowance work of this priority may bring usage up to."""
    return int(allowance * (1 - reserve * _EXTRA_RESERVE[Priority(priority)]))


def decide(*, used: int | None, allowance: int | None, paused_until: float | None, priority: int, cost: int,
           now: float, burn_per_hour: float = 0.0, reserve: float = DEFAULT_RESERVE) -> Admission:
    """The policy, shared by both backends (they differ only in how state is kept atomically)."""
    if paused_until and paused_until > now:
        return Admission(False, paused_until - now, "paused: the org's API allowance is used up", "paused")
    if used is None or allowance is None:
        return Admission(True)  # nothing learned yet: the first response teaches us
    limit = threshold(allowance, priority, reserve)
    if used + cost > limit:
        # Capacity returns as the rolling window moves; recheck in a while.
        return Admission(False, 300.0, f"usage {used}/{allowance} is at the limit for this kind of work ({limit})", "limit")
    if priority >= Priority.INCREMENTAL and burn_per_hour > 0:
        # Project the burn rate over the next hours: background work slows down rather than
        # spending the reserve before capacity returns.
        hours_left = (limit - used) / burn_per_hour
        if hours_left < 1.0 and priority >= Priority.RECONCILIATION:
            return Admission(False, 60.0, "slowing down: the burn rate would exhaust the allowance within the hour", "slowing")
    return Admission(True)


class Governor(Protocol):
    def admit(self, connection_id: int, priority: int, cost: int = 1) -> Admission: ...
    def observe(self, connection_id: int, used: int, allowance: int) -> None: ...
    def pause(self, connection_id: int, seconds: float, resume_estimate: float | None = None) -> None:
        """No work for `seconds` (then one /limits probe decides); `resume_estimate` is when
        capacity is expected back, for people to read."""
    def resume(self, connection_id: int) -> bool:
        """End a pause. True when there was one (so the resume is announced once)."""
    def request_probe(self, connection_id: int) -> None:
        """Ask the next admitted caller to check /limits first (usage learned from our own
        calls may be stale: the window moved, or the org's count was reset)."""
    def acquire(self, connection_id: int, max_concurrent: int, lease_seconds: float = 120) -> str | None: ...
    def renew(self, connection_id: int, token: str, lease_seconds: float) -> bool:
        """Heartbeat of a live holder: the slot stays held for another lease."""
    def release(self, connection_id: int, token: str) -> None: ...
    def status(self, connection_id: int) -> GovernorStatus: ...
    def forget(self, connection_id: int) -> None: ...
    def take_probe(self, connection_id: int) -> bool:
        """True exactly once (for one caller) after a quota pause has run out: that caller
        checks /limits before any work is sent."""


def now() -> float:
    return time.time()


def key_prefix() -> str:
    """Redis keys of the governor; COTHON_REDIS_KEY_PREFIX lets deployments (or parallel test
    runs) share one Redis without sharing state."""
    from django.conf import settings

    return f"{settings.COTHON_REDIS_KEY_PREFIX}:gov"


# --- backends ---------------------------------------------------------------------------------

_ADMIT_LUA = """
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local now = tonumber(ARGV[1])
if paused > now then return {0, tostring(paused - now)} end
local used = tonumber(redis.call('GET', KEYS[1]) or '-1')
local cost = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
if used >= 0 and limit >= 0 and used + cost > limit then return {0, '-1'} end
if used >= 0 then redis.call('INCRBY', KEYS[1], cost) end
redis.call('INCRBY', KEYS[3], cost)
redis.call('EXPIRE', KEYS[3], 7200)
return {1, '0'}
"""

_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('EXPIRE', KEYS[1], 3600)
return 1
"""


class RedisGovernor:
    """Atomic with Lua: admission and the optimistic usage increment happen in one step, so
    concurrent workers can never overspend between two header observations."""

    def __init__(self, client) -> None:
        self.redis = client
        self._admit = client.register_script(_ADMIT_LUA)
        self._acquire = client.register_script(_ACQUIRE_LUA)

    def _k(self, connection_id: int, name: str) -> str:
        return f"{key_prefix()}:{connection_id}:{name}"

    def _hour_key(self, connection_id: int, at: float) -> str:
        return self._k(connection_id, f"calls:{int(at // 3600)}")

    def admit(self, connection_id: int, priority: int, cost: int = 1) -> Admission:
        at = now()
        used, allowance, paused, burn = self.redis.mget(
            self._k(connection_id, "used"), self._k(connection_id, "allowance"), self._k(connection_id, "paused_until"),
            self._hour_key(connection_id, at - 3600))
        # The policy decides first (burn-rate slowing needs no atomicity)…
        pre = decide(used=int(used) if used is not None else None, allowance=int(allowance) if allowance else None,
                     paused_until=float(paused) if paused else None, priority=priority, cost=cost, now=at,
                     burn_per_hour=int(burn or 0))
        if not pre.allowed:
            return pre
        limit = threshold(int(allowance), priority) if allowance else -1
        # …then Lua re-checks the pause and the limit and reserves the calls atomically.
        ok, wait = self._admit(keys=[self._k(connection_id, "used"), self._k(connection_id, "paused_until"),
                                     self._hour_key(connection_id, at)], args=[at, cost, limit])
        if int(ok) == 1:
            return Admission(True)
        wait_s = float(wait)
        if wait_s < 0:
            return Admission(False, 300.0, "at the limit for this kind of work", "limit")
        return Admission(False, wait_s, "paused: the org's API allowance is used up", "paused")

    def observe(self, connection_id: int, used: int, allowance: int) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self._k(connection_id, "used"), used)
        pipe.set(self._k(connection_id, "allowance"), allowance)
        pipe.execute()

    def pause(self, connection_id: int, seconds: float, resume_estimate: float | None = None) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self._k(connection_id, "paused_until"), now() + seconds)
        pipe.set(self._k(connection_id, "probe"), 1)
        if resume_estimate is not None:
            pipe.set(self._k(connection_id, "resume_estimate"), resume_estimate)
        pipe.execute()

    def resume(self, connection_id: int) -> bool:
        was_paused = self.redis.delete(self._k(connection_id, "paused_until")) == 1
        self.redis.delete(self._k(connection_id, "probe"), self._k(connection_id, "resume_estimate"))
        return was_paused

    def request_probe(self, connection_id: int) -> None:
        self.redis.set(self._k(connection_id, "probe"), 1)

    def take_probe(self, connection_id: int) -> bool:
        paused = self.redis.get(self._k(connection_id, "paused_until"))
        if paused and float(paused) > now():
            return False
        return self.redis.delete(self._k(connection_id, "probe")) == 1  # DEL is atomic: one winner

    def forget(self, connection_id: int) -> None:
        """Drop everything learned about a connection (it was deleted or reconnected to another org)."""
        for key in self.redis.scan_iter(self._k(connection_id, "*")):
            self.redis.delete(key)

    def acquire(self, connection_id: int, max_concurrent: int, lease_seconds: float = 120) -> str | None:
        token = uuid.uuid4().hex
        ok = self._acquire(keys=[self._k(connection_id, "slots")], args=[now(), max_concurrent, lease_seconds, token])
        return token if int(ok) == 1 else None

    def renew(self, connection_id: int, token: str, lease_seconds: float) -> bool:
        # XX: only a slot still held is renewed (one the sweep of expired slots took stays gone).
        key = self._k(connection_id, "slots")
        self.redis.zadd(key, {token: now() + lease_seconds}, xx=True)
        return self.redis.zscore(key, token) is not None

    def release(self, connection_id: int, token: str) -> None:
        self.redis.zrem(self._k(connection_id, "slots"), token)

    def status(self, connection_id: int) -> GovernorStatus:
        return self.statuses([connection_id])[connection_id]

    def statuses(self, connection_ids: list[int]) -> dict[int, GovernorStatus]:
        """Several connections' status in one round trip (the metrics scrape reads them all)."""
        pipe = self.redis.pipeline(transaction=False)
        at = now()
        for connection_id in connection_ids:
            pipe.mget(self._k(connection_id, "used"), self._k(connection_id, "allowance"), self._k(connection_id, "paused_until"),
                      self._k(connection_id, "resume_estimate"))
            pipe.zcount(self._k(connection_id, "slots"), at, "+inf")
        replies = pipe.execute()
        result = {}
        for i, connection_id in enumerate(connection_ids):
            (used, allowance, paused, estimate), in_flight = replies[2 * i], replies[2 * i + 1]
            paused_f = float(paused) if paused else None
            active = paused_f if paused_f and paused_f > now() else None
            result[connection_id] = GovernorStatus(int(used) if used is not None else None, int(allowance) if allowance else None,
                                                   active, in_flight, float(estimate) if estimate and active else None)
        return result


class DatabaseGovernor:
    """The embedded backend: a row per connection, updated under a row lock (SQLite runs
    IMMEDIATE transactions, PostgreSQL SELECT … FOR UPDATE), so admission is atomic too."""

    def _state(self, connection_id: int):
        from sync_engine.models import GovernorState

        GovernorState.objects.get_or_create(connection_id=connection_id)
        return GovernorState.objects.select_for_update().get(connection_id=connection_id)

    def admit(self, connection_id: int, priority: int, cost: int = 1) -> Admission:
        at = now()
        with transaction.atomic():
            state = self._state(connection_id)
            if at - state.hour_started >= 3600:
                state.calls_last_hour = state.calls_this_hour if at - state.hour_started < 7200 else 0
                state.calls_this_hour, state.hour_started = 0, at - (at % 3600)
            admission = decide(used=state.used, allowance=state.allowance, paused_until=state.paused_until,
                               priority=priority, cost=cost, now=at, burn_per_hour=state.calls_last_hour)
            if admission.allowed:
                if state.used is not None:
                    state.used += cost
                state.calls_this_hour += cost
            state.save()
            return admission

    def observe(self, connection_id: int, used: int, allowance: int) -> None:
        from sync_engine.models import GovernorState

        GovernorState.objects.update_or_create(connection_id=connection_id, defaults={"used": used, "allowance": allowance})

    def pause(self, connection_id: int, seconds: float, resume_estimate: float | None = None) -> None:
        from sync_engine.models import GovernorState

        defaults = {"paused_until": now() + seconds, "probe_pending": True}
        if resume_estimate is not None:
            defaults["resume_estimate"] = resume_estimate
        GovernorState.objects.update_or_create(connection_id=connection_id, defaults=defaults)

    def resume(self, connection_id: int) -> bool:
        from sync_engine.models import GovernorState

        was_paused = GovernorState.objects.filter(connection_id=connection_id, paused_until__isnull=False).update(
            paused_until=None) == 1
        GovernorState.objects.filter(connection_id=connection_id).update(probe_pending=False, resume_estimate=None)
        return was_paused

    def request_probe(self, connection_id: int) -> None:
        from sync_engine.models import GovernorState

        GovernorState.objects.update_or_create(connection_id=connection_id, defaults={"probe_pending": True})

    def take_probe(self, connection_id: int) -> bool:
        from django.db.models import Q

        from sync_engine.models import GovernorState

        # A conditional UPDATE: only one caller flips the flag.
        return GovernorState.objects.filter(connection_id=connection_id, probe_pending=True).filter(
            Q(paused_until__isnull=True) | Q(paused_until__lte=now())).update(probe_pending=False) == 1

    def forget(self, connection_id: int) -> None:
        from sync_engine.models import GovernorSlot, GovernorState

        GovernorState.objects.filter(connection_id=connection_id).delete()
        GovernorSlot.objects.filter(connection_id=connection_id).delete()

    def acquire(self, connection_id: int, max_concurrent: int, lease_seconds: float = 120) -> str | None:
        from sync_engine.models import GovernorSlot

        at = now()
        with transaction.atomic():
            self._state(connection_id)  # the row lock serialises acquirers of this connection
            GovernorSlot.objects.filter(connection_id=connection_id, expires_at__lt=at).delete()
            if GovernorSlot.objects.filter(connection_id=connection_id).count() >= max_concurrent:
                return None
            token = uuid.uuid4().hex
            GovernorSlot.objects.create(connection_id=connection_id, token=token, expires_at=at + lease_seconds)
            return token

    def renew(self, connection_id: int, token: str, lease_seconds: float) -> bool:
        from sync_engine.models import GovernorSlot

        return GovernorSlot.objects.filter(connection_id=connection_id, token=token).update(expires_at=now() + lease_seconds) == 1

    def release(self, connection_id: int, token: str) -> None:
        from sync_engine.models import GovernorSlot

        GovernorSlot.objects.filter(token=token).delete()

    def status(self, connection_id: int) -> GovernorStatus:
        from sync_engine.models import GovernorSlot, GovernorState

        state = GovernorState.objects.filter(connection_id=connection_id).first()
        in_flight = GovernorSlot.objects.filter(connection_id=connection_id, expires_at__gte=now()).count()
        if state is None:
            return GovernorStatus(None, None, None, in_flight)
        paused = state.paused_until if state.paused_until and state.paused_until > now() else None
        return GovernorStatus(state.used, state.allowance, paused, in_flight, state.resume_estimate if paused else None)


def get_governor() -> Governor:
    """Redis when REDIS_URL is set, the database otherwise."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        return RedisGovernor(redis.Redis.from_url(settings.REDIS_URL))
    return DatabaseGovernor()
