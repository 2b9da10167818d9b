"""The API fuzzed from its own OpenAPI schema (schemathesis), in process over WSGI.

Every operation of /api/schema/ gets requests generated from its parameters and body schemas,
sent as a member of a seeded tenant (token auth). Two checks on every answer: no server error
(5xx) and the answer matches the schema (documented status, content type, JSON body of the
documented shape). Once with requests valid by the schema, once with invalid ones.
Ids in paths are those of the seeded records, or a missing one, so the generated bodies reach
real rows. Bounded and deterministic: derandomized Hypothesis, a fixed number of examples per
operation, no shrinking, a wall-clock budget per test (the module takes 1–2 minutes on 2 cores).
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from schemathesis import DataGenerationMethod
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.exceptions import SkipTest
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

# A longer exploration: COTHON_FUZZ_EXAMPLES=200 COTHON_FUZZ_BUDGET=1200 scripts/run_tests.py tests/api/test_schemathesis.py
EXAMPLES_PER_OPERATION = int(os.environ.get("COTHON_FUZZ_EXAMPLES", "25"))
NEGATIVE_EXAMPLES_PER_OPERATION = max(1, EXAMPLES_PER_OPERATION * 2 // 5)
# 83 operations since issue 18 (quotes, lines, custom fields, contacts): about 150 s on a loaded 2-core machine.
BUDGET_SECONDS = int(os.environ.get("COTHON_FUZZ_BUDGET", "300"))
MISSING_ID = 987654321
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    without_negative_cases: list[str] = field(default_factory=list)


def _pin_path_ids(raw: dict, ids: dict[str, int]) -> dict:
    """The schema with each `{id}` limited to the seeded record of that resource, or a missing id."""
    pinned = copy.deepcopy(raw)
    for path, item in pinned["paths"].items():
        resource = path.removeprefix("/api/v1/").split("/", 1)[0]
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                # `id` is the resource's record; another path id by "<resource>.<name>" (a quote's line_pk).
                key = resource if parameter["name"] == "id" else f"{resource}.{parameter['name']}"
                if key in ids:
                    parameter["schema"] = {"type": "integer", "enum": [ids[key], MISSING_ID]}
    return pinned


@contextlib.contextmanager
def keeping_the_test_transaction():
    """Django's WSGI app closes the database connection after each request; like the test
    client, keep it (and the test's transaction) open while the fuzzer sends requests. (The
    test client reconnects these signals after each of its own requests: use it before.)"""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _fuzz(alice, alice_records, alice_api, *, method: DataGenerationMethod, examples: int, budget: float) -> Tally:
    from cothon.tenancy.services import api_token_create

    _, key = api_token_create(membership=alice.member_membership)
    headers = {"Authorization": f"Token {key}"}
    raw = alice_api.get("/api/schema/?format=json").json()
    ids = {"opportunities": alice_records.opportunity.pk, "analyses": alice_records.analysis.pk,
           "proposals": alice_records.proposal.pk, "quotes": alice_records.quote.pk,
           "departments": alice_records.department.pk, "comments": alice_records.comment.pk,
           "quote-custom-fields": alice_records.custom_field.pk, "contacts": alice_records.contact.pk,
           "quotes.line_pk": alice_records.quote_line.pk}
    schema = schemathesis.from_dict(_pin_path_ids(raw, ids), app=get_wsgi_application(), base_url="http://testserver")

    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last: the seeded records stay for every other operation.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    tally = Tally()
    started = time.monotonic()

    for operation in operations:
        if time.monotonic() - started > budget:
            tally.failures.append(f"budget of {budget:.0f}s spent before {operation.verbose_name}")
            break
        tally.operations += 1
        seen: set[str] = set()

        @given(case=operation.as_strategy(data_generation_method=method))
        @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                             report_multiple_bugs=False)
        def run(case):
            if (case.media_type or "").startswith("multipart/") and not isinstance(case.body, dict):
                return  # a multipart body that is not a form (a bare number): no client can send it, werkzeug cannot encode it
            response = case.call(headers=headers)
            tally.requests += 1
            tally.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # a check failed: note it once per operation and kind, go on
                lines = str(exc).strip().splitlines() or [type(exc).__name__]
                if lines[0] not in seen:
                    seen.add(lines[0])
                    details = "\n".join(lines[:25])
                    tally.failures.append(f"{operation.verbose_name}: {details}\n{case.as_curl_command(headers)}")

        with keeping_the_test_transaction():
            try:
                run()
            except SkipTest:
                # An operation whose request has nothing to get wrong (a GET without parameters,
                # e.g. the tenant's one alert-settings object) has no negative case: said, not failed.
                assert method == DataGenerationMethod.negative, operation.verbose_name
                tally.without_negative_cases.append(operation.verbose_name)

    elapsed = time.monotonic() - started
    print(f"\nschemathesis ({method.name} data): {tally.operations} operations × {examples} examples, {tally.requests} "
          f"requests in {elapsed:.0f}s; statuses {dict(sorted(tally.statuses.items()))}; {len(tally.failures)} failures"
          + (f"; no negative case possible for {', '.join(tally.without_negative_cases)}" if tally.without_negative_cases else ""))
    assert tally.operations == len(operations) and tally.operations >= 30
    return tally


def _assert_clean(tally: Tally) -> None:
    assert not tally.failures, "\n\n".join(tally.failures)
    assert not any(status >= 500 for status in tally.statuses)


def test_valid_requests_get_documented_answers(alice, alice_records, alice_api):
    """Requests valid by the schema: never a 5xx, every answer as documented."""
    _assert_clean(_fuzz(alice, alice_records, alice_api, method=DataGenerationMethod.positive,
                        examples=EXAMPLES_PER_OPERATION, budget=BUDGET_SECONDS))


def test_invalid_requests_get_documented_errors(alice, alice_records, alice_api):
    """Requests that break the schema (wrong types, out of bounds, missing fields): a documented
    4xx in the error shape, never a 5xx."""
    _assert_clean(_fuzz(alice, alice_records, alice_api, method=DataGenerationMethod.negative,
                        examples=NEGATIVE_EXAMPLES_PER_OPERATION, budget=BUDGET_SECONDS))
