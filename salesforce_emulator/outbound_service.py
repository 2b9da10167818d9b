"""Outbound Messages: the per-emulator service (rule registry, store listener, delivery).

Holds the state of one emulator's outbound messaging: its rules, the queue fed by committed
writes, the message log, and the worker thread that POSTs with retries. Kept apart from
``outbound``, which only wires this service into the app (lifecycle and test hooks).
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from . import clock, ids
from .outbound_rules import MODES, OPS, Rule, RuleError, fires
from .outbound_soap import ACK_RE, soap_payload

MAX_PER_MESSAGE = 100
LOG_LIMIT = 2000


@dataclass
class Settings:
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    expiry_hours: float = 24.0
    timeout_seconds: float = 10.0
    allow_non_loopback: bool = False
    poll_seconds: float = 0.1


@dataclass
class Message:
    id: str
    org: str
    rule_id: str
    rule: str
    endpoint_url: str
    object: str
    notifications: list[dict[str, str]]
    queued_at: datetime
    next_attempt_at: datetime
    status: str = "pending"  # pending | delivered | failed
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered_at: datetime | None = None
    last_payload: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "org": self.org, "rule_id": self.rule_id, "rule": self.rule,
            "endpoint_url": self.endpoint_url, "object": self.object, "status": self.status,
            "notifications": self.notifications,
            "queued_at": clock.sf_datetime(self.queued_at),
            "next_attempt_at": clock.sf_datetime(self.next_attempt_at)
            if self.status == "pending" else None,
            "delivered_at": clock.sf_datetime(self.delivered_at) if self.delivered_at else None,
            "attempts": self.attempts, "last_payload": self.last_payload,
        }


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host.lower() != "localhost":
        return False
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


# -- the per-emulator service -----------------------------------------------------------------
class Outbound:
    def __init__(self, emu: Any):
        self.emu = emu
        self.settings = Settings()
        self.lock = threading.RLock()
        self.rules: dict[str, Rule] = {}
        self.watch: dict[tuple[str, str], list[Rule]] = {}
        self.queued: list[tuple[str, str, str]] = []  # (rule id, notification id, record id)
        self.messages: list[Message] = []
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self._seq = itertools.count(1)
        for rt in emu.orgs.values():
            self._load_org_rules(rt)
        emu.store.listeners.append(self)

    # -- ids -----------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return ids.make_id(prefix, 10**8 + next(self._seq))

    # -- rules ---------------------------------------------------------------------------
    def _index(self) -> None:
        watch: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules.values():
            if rule.active:
                watch.setdefault((rule.org, rule.object.lower()), []).append(rule)
        self.watch = watch

    def _load_org_rules(self, rt: Any) -> None:
        source = rt.org.source
        if not source or not Path(source).exists() or Path(source).suffix == ".json":
            specs = []
        else:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
            specs = data.get("outbound_messages") or []
        for spec in specs:
            rule = self.build_rule({**spec, "org": rt.org.name}, source="org")
            self.rules[rule.id] = rule
        self._index()

    def build_rule(self, spec: dict[str, Any], source: str = "hook") -> Rule:
        org = spec.get("org") or self.emu.default_org
        rt = self.emu.orgs.get(org)
        if rt is None:
            raise RuleError(f"unknown org {org!r}")
        obj = rt.schema.get(str(spec.get("object") or ""))
        if obj is None:
            raise RuleError(f"unknown object {spec.get('object')!r}")

        def field_name(name: Any) -> str:
            fld = obj.field(str(name)) if name else None
            if fld is None:
                raise RuleError(f"unknown field {obj.name}.{name}")
            return fld.name

        criteria = spec.get("criteria") or {}
        if isinstance(criteria, str):  # "StageName = Proposal"
            left, _, right = criteria.partition("=")
            criteria = {"field": left.strip(), "value": right.strip()}
        crit_field = field_name(criteria.get("field"))
        crit_value = criteria.get("value", criteria.get("equals"))
        conditions = []
        for cond in spec.get("conditions") or []:
            op = cond.get("op", "=")
            if op == "==":
                op = "="
            if op not in OPS:
                raise RuleError(f"unknown operator {op!r}; use one of {', '.join(OPS)}")
            conditions.append({"field": field_name(cond.get("field")), "op": op,
                               "value": cond.get("value")})
        evaluation = spec.get("evaluation", "created_and_edit_to_meet_criteria")
        if evaluation not in MODES:
            raise RuleError(f"evaluation must be one of {', '.join(MODES)}")
        url = spec.get("endpoint_url") or spec.get("endpoint")
        if not url or not isinstance(url, str):
            raise RuleError("endpoint_url is required")
        if not self.settings.allow_non_loopback and not is_loopback_url(url):
            raise RuleError(f"endpoint_url must be a loopback http(s) URL (127.0.0.1, ::1 or "
                            f"localhost): {url}")
        fields = ["Id"]
        for name in spec.get("fields") or []:
            canonical = field_name(name)
            if canonical not in fields:
                fields.append(canonical)
        user = spec.get("user")
        if user and rt.org.user_by_username(user) is None:
            raise RuleError(f"unknown user {user}")
        return Rule(id=spec.get("id") or self._id("04k"), org=rt.org.name,
                    name=str(spec.get("name") or f"{obj.name} outbound message"),
                    object=obj.name, field=crit_field, value=crit_value,
                    conditions=conditions, evaluation=evaluation, endpoint_url=url,
                    fields=fields, session=bool(spec.get("session", False)), user=user,
                    api_version=str(spec.get("api_version", "59.0")),
                    active=bool(spec.get("active", True)), source=source)

    def add_rule(self, spec: dict[str, Any]) -> Rule:
        rule = self.build_rule(spec)
        with self.lock:
            self.rules[rule.id] = rule
            self._index()
        return rule

    def replace_rules(self, org: str, source: str, rules: list[Rule]) -> None:
        """Swap every rule of one org and source for `rules` (Tooling workflow rules are
        rebuilt whole whenever their metadata changes)."""
        with self.lock:
            for rid in [k for k, r in self.rules.items() if r.org == org and r.source == source]:
                del self.rules[rid]
            for rule in rules:
                self.rules[rule.id] = rule
            self._index()

    def remove_rules(self, rule_id: str | None = None, org: str | None = None) -> int:
        with self.lock:
            doomed = [r.id for r in self.rules.values()
                      if (rule_id is None or r.id == rule_id) and (org is None or r.org == org)
                      and (rule_id is not None or r.source == "hook")]
            for rid in doomed:
                del self.rules[rid]
            self._index()
        return len(doomed)

    # -- store listener ------------------------------------------------------------------
    def wants(self, org: str, sobject: str) -> bool:
        return (org, sobject.lower()) in self.watch

    def written(self, org: str, sobject: str, old: dict[str, Any] | None,
                new: dict[str, Any]) -> None:
        for rule in self.watch.get((org, sobject.lower()), ()):
            if fires(rule, old, new):
                note = (rule.id, self._id("04l"), new["Id"])
                self.emu.store.after_commit(lambda note=note: self._enqueue(note))

    def _enqueue(self, note: tuple[str, str, str]) -> None:
        with self.lock:
            self.queued.append(note)
        self.wake.set()

    # -- delivery ------------------------------------------------------------------------
    def _batch(self) -> None:
        """Turn queued notifications into messages of at most 100 per rule."""
        with self.lock:
            queued, self.queued = self.queued, []
            by_rule: dict[str, list[tuple[str, str, str]]] = {}
            for note in queued:
                by_rule.setdefault(note[0], []).append(note)
            now = clock.now()
            for rule_id, notes in by_rule.items():
                rule = self.rules.get(rule_id)
                if rule is None:
                    continue
                for start in range(0, len(notes), MAX_PER_MESSAGE):
                    chunk = notes[start:start + MAX_PER_MESSAGE]
                    self.messages.append(Message(
                        id=self._id("04m"), org=rule.org, rule_id=rule.id, rule=rule.name,
                        endpoint_url=rule.endpoint_url, object=rule.object,
                        notifications=[{"id": n[1], "record_id": n[2]} for n in chunk],
                        queued_at=now, next_attempt_at=now))
            if len(self.messages) > LOG_LIMIT:
                done = [m for m in self.messages if m.status != "pending"]
                for msg in done[:len(self.messages) - LOG_LIMIT]:
                    self.messages.remove(msg)

    def due(self) -> list[Message]:
        now = clock.now()
        with self.lock:
            return [m for m in self.messages if m.status == "pending"
                    and m.next_attempt_at <= now]

    def run_once(self) -> int:
        self._batch()
        sent = 0
        for msg in self.due():
            self._attempt(msg)
            sent += 1
        return sent

    def _session_id(self, rule: Rule) -> str | None:
        if not rule.session:
            return None
        rt = self.emu.orgs[rule.org]
        user = rt.org.user_by_username(rule.user) if rule.user else None
        if user is None:
            app = next((a for a in rt.org.connected_apps if a.run_as), None)
            user = rt.org.user_by_username(app.run_as) if app else rt.admin_user
        session = self.emu.tokens.issue_access(rt.org.name, rt.org.org_id15, user.id,
                                               rt.access_token_seconds)
        return session.token

    def _attempt(self, msg: Message) -> None:
        rule = self.rules.get(msg.rule_id)
        now = clock.now()
        entry: dict[str, Any] = {"time": clock.sf_datetime(now), "status": None, "ok": False,
                                 "response": "", "error": None}
        if now - msg.queued_at > timedelta(hours=self.settings.expiry_hours):
            with self.lock:
                msg.status = "failed"
            return
        if rule is None:
            entry["error"] = "rule deleted"
            with self.lock:
                msg.attempts.append(entry)
                msg.status = "failed"
            return
        if not self.settings.allow_non_loopback and not is_loopback_url(msg.endpoint_url):
            entry["error"] = "refused: the emulator only sends to loopback endpoints"
            with self.lock:
                msg.attempts.append(entry)
                msg.status = "failed"
            return
        try:
            payload = soap_payload(self.emu, rule, msg.notifications, self._session_id(rule))
        except Exception as exc:  # noqa: BLE001
            payload, entry["error"] = None, f"could not build the message: {exc}"
        if payload is not None:
            msg.last_payload = payload
            status, body, error = self._post(msg.endpoint_url, payload)
            entry.update(status=status, response=body[:500], error=error)
            entry["ok"] = status == 200 and bool(ACK_RE.search(body))
        with self.lock:
            msg.attempts.append(entry)
            if entry["ok"]:
                msg.status = "delivered"
                msg.delivered_at = clock.now()
                return
            tries = len(msg.attempts)
            delay = min(self.settings.retry_base_seconds * 2 ** (tries - 1),
                        self.settings.retry_max_seconds)
            msg.next_attempt_at = clock.now() + timedelta(seconds=delay)
            if msg.next_attempt_at - msg.queued_at > timedelta(hours=self.settings.expiry_hours):
                msg.status = "failed"

    def _post(self, url: str, payload: str) -> tuple[int | None, str, str | None]:
        request = urllib.request.Request(url, data=payload.encode("utf-8"), method="POST",
                                         headers={"Content-Type": "text/xml; charset=utf-8",
                                                  "SOAPAction": '""',
                                                  "User-Agent": "Salesforce Emulator "
                                                                "Outbound Messaging"})
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # loopback endpoints with local certificates
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(request, timeout=self.settings.timeout_seconds) as response:
                return response.status, response.read(65536).decode("utf-8", "replace"), None
        except urllib.error.HTTPError as exc:
            body = exc.read(65536).decode("utf-8", "replace") if exc.fp else ""
            return exc.code, body, None
        except (OSError, ValueError) as exc:
            return None, "", f"{type(exc).__name__}: {exc}"

    # -- worker --------------------------------------------------------------------------
    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="outbound")
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the worker must survive
                import traceback
                traceback.print_exc()
            self.wake.wait(self.settings.poll_seconds)
            self.wake.clear()

    # -- hooks ---------------------------------------------------------------------------
    def deliveries(self, org: str | None = None, rule_id: str | None = None
                   ) -> list[dict[str, Any]]:
        self._batch()
        with self.lock:
            return [m.public() for m in self.messages
                    if (org is None or m.org == org) and (rule_id is None or m.rule_id == rule_id)]

    def clear_deliveries(self, org: str | None = None) -> int:
        with self.lock:
            keep = [m for m in self.messages if org is not None and m.org != org]
            cleared = len(self.messages) - len(keep)
            self.messages = keep
            if org is None:
                self.queued = []
            else:
                self.queued = [n for n in self.queued
                               if self.rules.get(n[0]) and self.rules[n[0]].org != org]
        return cleared

    def reset(self, org: str | None) -> None:
        with self.lock:
            self.rules = {k: r for k, r in self.rules.items()
                          if org is not None and r.org != org}
            self.clear_deliveries(org)
            self.settings = Settings() if org is None else self.settings
            for rt in self.emu.orgs.values():
                if org is None or rt.org.name == org:
                    self._load_org_rules(rt)
            self._index()
