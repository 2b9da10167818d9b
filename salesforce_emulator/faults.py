"""Fault injection for chaos tests: per org / object / operation, an error (code + status),
latency, a 5xx or a dropped connection; a fixed count or a probability."""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

OPERATIONS = ("any", "create", "read", "update", "upsert", "delete", "query", "describe",
              "composite", "collections", "login", "token", "limits", "bulk", "tooling")


@dataclass
class FaultRule:
    id: int
    org: str | None = None
    object: str | None = None
    operation: str = "any"
    path_contains: str | None = None
    method: str | None = None
    status: int = 503
    error_code: str = "SERVER_UNAVAILABLE"
    message: str = "The server is temporarily unable to service your request."
    count: int | None = None  # remaining activations; None = unlimited
    probability: float = 1.0
    latency_ms: int = 0
    # The request is applied, then its answer waits: a write Salesforce took whose client may be
    # gone before it learns so (a worker killed meanwhile).
    answer_latency_ms: int = 0
    drop_connection: bool = False
    per_record: bool = False  # collections: fail matching records, not the request
    hits: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._random = random.Random()

    def add(self, spec: dict[str, Any]) -> FaultRule:
        known = {k: v for k, v in spec.items() if k in FaultRule.__dataclass_fields__
                 and k not in ("id", "hits")}
        rule = FaultRule(id=next(self._ids), **known)
        if rule.operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}")
        if "seed" in spec:
            self._random.seed(spec["seed"])
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, rule_id: int | None = None) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if rule_id is not None and r.id != rule_id]

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.public() for r in self._rules]

    def match(self, org: str | None, obj: str | None, operation: str, method: str, path: str,
              per_record: bool = False) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.per_record != per_record:
                    continue
                if rule.org and rule.org != org:
                    continue
                if rule.object and (obj is None or rule.object.lower() != obj.lower()):
                    continue
                if rule.operation != "any" and rule.operation != operation:
                    continue
                if rule.method and rule.method.upper() != method:
                    continue
                if rule.path_contains and rule.path_contains not in path:
                    continue
                if rule.count is not None and rule.count <= 0:
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                rule.hits += 1
                return rule
        return None
