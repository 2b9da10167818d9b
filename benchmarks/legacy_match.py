"""Match Legacy Records benchmark: N Cothon opportunities not linked in the connection against M
legacy Salesforce opportunities (no Cothon_Ref__c) in the emulator. Runs the real job (the
service the Celery task calls) and prints its time per phase, API calls, peak RSS, proposals and
how often the true twin ranks first — then the naive baseline (every signal for every pair, in
Python) on a sample of the Salesforce records, extrapolated to all of them.

    .venv/bin/python benchmarks/legacy_match.py [--cothon 5000] [--salesforce 5000] [--twins 0.6] [--naive-sample 50]

Runs against PostgreSQL + Redis when reachable (prints which) and a private emulator."""

from __future__ import annotations

import argparse
import datetime
import random
import time
from decimal import Decimal

from _harness import Emulator, connect_bench_org, peak_rss_mb, table, teardown_django, setup_django

ABBREVIATIONS = {"Department of National Defence": "DND", "Shared Services Canada": "SSC", "Health Canada": "HC",
                 "Public Services and Procurement Canada": "PSPC", "Transport Canada": "TC", "Canada Revenue Agency": "CRA",
                 "Fisheries and Oceans Canada": "DFO", "Natural Resources Canada": "NRCan", "Parks Canada": "Parks"}


def cothon_rows(n: int, rng: random.Random) -> list[dict]:
    from demo.data import DEPARTMENTS, PLACES, SUBJECTS

    today = datetime.date.today()
    rows = []
    for i in range(n):
        subject = SUBJECTS[i % len(SUBJECTS)][0]
        department = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))][0]
        place = PLACES[rng.randrange(len(PLACES))]
        low = Decimal(rng.choice((75, 120, 250, 400, 650, 900, 1500, 2400, 4800))) * 1000
        rows.append({"title": f"{subject} {department} — {place} (lot {rng.randint(1, 400)})", "department": department,
                     "value_min": low, "value_max": low * Decimal(rng.choice(("1.0", "1.5", "2.0"))),
                     "closing_date": today + datetime.timedelta(days=rng.randint(-60, 180)), "reference": f"LEG-{i:06d}/A"})
    return rows


def typed_in_salesforce(row: dict, rng: random.Random) -> dict:
    """How a salesperson typed the same tender: department abbreviated or moved, a word dropped,
    the place in brackets, a date a few days off, the midpoint or a round amount."""
    title = row["title"].replace(" — ", " (").rstrip(")") + ")"
    short = ABBREVIATIONS.get(row["department"])
    if short and rng.random() < 0.5:
        title = title.replace(row["department"], short)
    words = title.split()
    if len(words) > 6 and rng.random() < 0.5:
        del words[rng.randrange(1, len(words) - 1)]
    title = " ".join(words)
    if rng.random() < 0.3:
        title = f"{row['department']} - {title.replace(row['department'], '').strip()}"
    amount = (row["value_min"] + row["value_max"]) / 2 if rng.random() < 0.7 else row["value_max"] * Decimal("1.1")
    return {"Name": title[:120], "CloseDate": (row["closing_date"] + datetime.timedelta(days=rng.randint(-7, 7))).isoformat(),
            "Amount": float(round(amount, 2)), "StageName": "Prospecting", "@account": row["department"]}


def unrelated(i: int, rng: random.Random) -> dict:
    from demo.data import DEPARTMENTS

    things = ("Office furniture", "Fleet vehicle leasing", "Catering services", "Legal advisory", "Courier services",
              "Printing and publishing", "Uniform supply", "Elevator maintenance")
    department = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))][0]
    return {"Name": f"{rng.choice(things)} for {department} #{i}", "StageName": "Prospecting", "Amount": rng.randint(5, 900) * 1000,
            "CloseDate": (datetime.date.today() + datetime.timedelta(days=rng.randint(-90, 300))).isoformat(), "@account": department}


def seed(connection, emu: Emulator, n_cothon: int, n_sf: int, twins: float, rng: random.Random) -> dict[str, int]:
    """Cothon rows (bulk insert) and Salesforce legacy rows (sObject Collections, 200 a call).
    Returns {Salesforce Id: the Cothon id it was typed from} — the ground truth."""
    import requests

    from demo.data import DEPARTMENTS
    from opportunities.models import Department, Opportunity
    from opportunities.services import department_create

    departments = {name: department_create(tenant=connection.tenant, name=name) for name, _ in DEPARTMENTS}
    rows = cothon_rows(n_cothon, rng)
    created = Opportunity.objects.bulk_create([
        Opportunity(tenant=connection.tenant, title=r["title"], reference=r["reference"], value_min=r["value_min"],
                    value_max=r["value_max"], closing_date=r["closing_date"], department=departments[r["department"]],
                    status="identified") for r in rows], batch_size=2000)
    assert Department.objects.filter(tenant=connection.tenant).count() == len(DEPARTMENTS)
    session = requests.Session()
    session.trust_env = False
    session.verify = emu.client.ca_bundle
    session.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo')['access_token']}"
    base = f"{emu.client.instance_url}/services/data/v59.0/composite/sobjects"
    accounts = {}
    names = [name for name, _ in DEPARTMENTS]
    for start in range(0, len(names), 200):
        body = {"allOrNone": True, "records": [{"attributes": {"type": "Account"}, "Name": n} for n in names[start:start + 200]]}
        for name, result in zip(names[start:start + 200], session.post(base, json=body).json()):
            accounts[name] = result["id"]
    n_twins = int(n_sf * twins)
    picks = rng.sample(range(n_cothon), min(n_twins, n_cothon))
    records, truth_index = [], []
    for index in picks:
        records.append(typed_in_salesforce(rows[index], rng))
        truth_index.append(created[index].pk)
    for i in range(n_sf - len(records)):
        records.append(unrelated(i, rng))
        truth_index.append(None)
    truth: dict[str, int] = {}
    for start in range(0, len(records), 200):
        chunk = records[start:start + 200]
        payload = [{"attributes": {"type": "Opportunity"}, **{k: v for k, v in r.items() if k != "@account"},
                    "AccountId": accounts[r["@account"]]} for r in chunk]
        results = session.post(base, json={"allOrNone": True, "records": payload}).json()
        for result, cothon_id in zip(results, truth_index[start:start + 200]):
            if cothon_id is not None:
                truth[result["id"]] = cothon_id
    return truth


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cothon", type=int, default=5000)
    parser.add_argument("--salesforce", type=int, default=5000)
    parser.add_argument("--twins", type=float, default=0.6, help="share of the Salesforce records typed from a Cothon one")
    parser.add_argument("--naive-sample", type=int, default=50, help="Salesforce records the naive baseline scores")
    args = parser.parse_args()
    backend = setup_django("legacy")
    emu = Emulator()
    try:
        run(args, emu, backend)
    finally:
        emu.stop()
        teardown_django()


def run(args, emu: Emulator, backend: str) -> None:
    from django.db import transaction

    from sync_engine.legacy import scoring, source
    from sync_engine.legacy.models import LegacyMatchProposal
    from sync_engine.legacy.services import legacy_match_run, legacy_match_start

    rng = random.Random(17)
    _, connection = connect_bench_org(emu)
    started = time.perf_counter()
    truth = seed(connection, emu, args.cothon, args.salesforce, args.twins, rng)
    print(f"Backend: {backend}. Seeded {args.cothon} Cothon and {args.salesforce} Salesforce legacy opportunities "
          f"({len(truth)} typed from a Cothon one) in {time.perf_counter() - started:.1f} s.")
    rss_before = peak_rss_mb()

    with transaction.atomic():
        job = legacy_match_start(connection=connection)
    started = time.perf_counter()
    legacy_match_run(job_id=job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    rss_job = peak_rss_mb()
    best = dict(LegacyMatchProposal.objects.filter(connection=connection, rank=1).values_list("salesforce_id", "opportunity_id"))
    found = sum(1 for sf_id, cothon_id in truth.items() if best.get(sf_id) == cothon_id)
    wrong_first = sum(1 for sf_id, cothon_id in best.items() if sf_id in truth and truth[sf_id] != cothon_id)
    unrelated_proposed = sum(1 for sf_id in best if sf_id not in truth)

    # Where the job's time goes (the same steps, timed one by one, no database writes).
    client_calls = {"n": 0}
    from integrations.connections import client_for

    client = client_for(connection, on_call=lambda record: client_calls.__setitem__("n", client_calls["n"] + 1))
    t0 = time.perf_counter()
    candidates = source.cothon_candidates(connection=connection)
    t1 = time.perf_counter()
    read = source.read_legacy(connection=connection, client=client)
    t2 = time.perf_counter()
    index = scoring.CothonIndex(candidates)
    blocked = {sf.id: index.matches_for(sf) for sf in read.records}
    t3 = time.perf_counter()

    sample = read.records[: args.naive_sample]
    t4 = time.perf_counter()
    naive = {sf.id: scoring.naive_matches_for(sf, candidates) for sf in sample}
    t5 = time.perf_counter()
    per_sf_naive = (t5 - t4) / max(1, len(sample))
    per_sf_blocked = (t3 - t2) / max(1, len(read.records))
    same = sum(1 for sf in sample if [(m.cothon_id, m.score) for m in naive[sf.id]] == [(m.cothon_id, m.score) for m in blocked[sf.id]])
    same_first = sum(1 for sf in sample if [m.cothon_id for m in naive[sf.id][:1]] == [m.cothon_id for m in blocked[sf.id][:1]])

    print()
    print(table([
        ("Job, end to end (service the task calls)", f"{elapsed:.2f} s", f"{job.api_calls} API calls ({job.read_with})"),
        ("  read Cothon candidates", f"{t1 - t0:.2f} s", f"{len(candidates)} rows"),
        ("  read Salesforce legacy records", f"{t2 - t1:.2f} s", f"{client_calls['n']} API calls, {len(read.records)} rows"),
        ("  score with blocking (rapidfuzz shortlist)", f"{t3 - t2:.2f} s", f"{per_sf_blocked * 1000:.2f} ms per Salesforce record"),
        (f"Naive cross-product ({len(sample)} × {len(candidates)} pairs)", f"{t5 - t4:.2f} s",
         f"{per_sf_naive * 1000:.1f} ms per Salesforce record"),
        (f"  naive extrapolated to {len(read.records)} records", f"{per_sf_naive * len(read.records):.0f} s",
         f"{per_sf_naive / per_sf_blocked:.0f}× the blocked scoring"),
    ], ("step", "time", "detail")))
    print()
    print(f"Proposals: {job.proposals} saved, rank-1 for {len(best)} Salesforce records.")
    print(f"True twin ranked first: {found} of {len(truth)} ({found / max(1, len(truth)):.1%}); "
          f"another Cothon record ranked first: {wrong_first}; unrelated Salesforce records with a proposal: {unrelated_proposed}.")
    print(f"Blocked vs naive on the sample: same best candidate for {same_first} of {len(sample)} Salesforce records, "
          f"same whole list (up to {scoring.KEEP_PER_SALESFORCE}) for {same}.")
    print(f"Peak RSS: {rss_before:.0f} MB before the job (Django, seeding), {rss_job:.0f} MB after it "
          f"(+{rss_job - rss_before:.0f} MB).")


if __name__ == "__main__":
    main()
