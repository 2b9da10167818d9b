"""Chaos benchmark: per fault, how long the product takes to recover, what is lost (0), what is
duplicated (0), and how many Salesforce API calls recovery costs.

Each scenario: a fresh tenant with N opportunities and 6 departments connects to a private
emulator, starts a full sync through real worker processes (a real-time worker, a background
worker with a prefork pool, beat) slowed by a latency fault, then one fault strikes — a
`kill -9` of a process or a Salesforce failure — while real-time edits keep coming. "Recover"
is the time from the fault until every row has left the queue and the run has finished.
"Recovery calls" compares the scenario's API calls with the same run without a fault.

    .venv/bin/python benchmarks/chaos.py [--records 80] [--faults realtime_worker,emulator]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _harness import setup_django, table, teardown_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=80)
    parser.add_argument("--faults", default="")
    args = parser.parse_args()

    import os

    from tests.chaos.stack import CHAOS_ENV, FAULTS

    os.environ.update(CHAOS_ENV)  # this process runs the service calls too: same leases
    backend = setup_django("chaos")
    from tests.chaos.stack import ChaosStack, PrivateEmulator, connect, run_scenario, seed

    from cothon.tenancy.services import membership_set, tenant_create, user_get_or_create
    from integrations.connections import connection_disconnect

    faults = [f for f in (args.faults.split(",") if args.faults else FAULTS) if f]
    workdir = Path(tempfile.mkdtemp(prefix="cothon-chaos-"))
    emulator = PrivateEmulator(workdir / "emulator").start()
    stack = ChaosStack(workdir)
    print(f"Backend: {backend}; emulator: {emulator.instance_url}; {args.records} opportunities + 6 departments per scenario; "
          f"lease {CHAOS_ENV['COTHON_OUTBOX_LEASE_SECONDS']} s, sweeper every {CHAOS_ENV['COTHON_SWEEP_SECONDS']} s, "
          f"batches of {CHAOS_ENV['COTHON_PUSH_BATCH_SIZE']}")
    rows = []
    try:
        baseline_calls = None
        for n, fault in enumerate(["none", *faults]):
            emulator.client.reset()
            emulator.client.set_limits("demo", allowance=5_000_000, used=0)
            tenant = tenant_create(name=f"Chaos {n} {fault}", slug=f"chaos-{n}")
            admin = user_get_or_create(username=f"chaos-admin-{n}", email=f"admin{n}@chaos.example", password="chaos-pass-123")
            membership_set(tenant=tenant, user=admin, role="admin")
            opportunities = seed(tenant, opportunities=args.records)
            connection = connect(tenant, emulator, admin)
            started = time.perf_counter()
            result = run_scenario(fault, stack=stack, emulator=emulator, tenant=tenant, connection=connection, actor=admin,
                                  opportunities=opportunities)
            # One org serves one organization: release it for the next scenario's tenant.
            connection_disconnect(connection=connection, actor=admin)
            if fault == "none":
                baseline_calls = result.api_calls
                print(f"baseline without a fault: settled in {time.perf_counter() - started:.1f}s with {result.api_calls} API calls")
                continue
            rows.append((fault, f"{result.recover_seconds:.1f}s", result.lost, result.duplicates, result.stale, result.queued_left,
                         result.run_status, result.api_calls, f"{result.api_calls - (baseline_calls or 0):+d}",
                         "yes" if result.product_up else "NO", result.fault_hits if result.fault_hits is not None else "—"))
        print()
        print(table(rows, ("fault", "recover", "lost", "duplicates", "stale", "left queued", "run", "API calls",
                           "recovery calls", "serving", "fault fired")))
    finally:
        stack.stop()
        emulator.stop()
        teardown_django()


if __name__ == "__main__":
    main()
