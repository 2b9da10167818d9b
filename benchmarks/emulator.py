"""Emulator benchmark: single-record REST requests/s, sObject Collections of 200 (records/s),
a 2,000-row query page, and a 100,000-record Bulk API 2.0 ingest with its time and the
emulator's peak memory. Baseline in the same run: the same records one REST call each.

    .venv/bin/python benchmarks/emulator.py [--bulk-records 100000]"""

from __future__ import annotations

import argparse
import io
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import requests

from _harness import Emulator, table


def session_for(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = emu.client.ca_bundle
    s.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo')['access_token']}"
    return s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--collections", type=int, default=50, help="calls of 200 records")
    parser.add_argument("--bulk-records", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    emu = Emulator()
    proc = psutil.Process(emu.process.pid)
    peak = {"rss": proc.memory_info().rss}

    def sample_rss():
        peak["rss"] = max(peak["rss"], proc.memory_info().rss)

    try:
        emu.client.set_limits("demo", allowance=100_000_000, used=0)
        api = f"{emu.client.instance_url}/services/data/v59.0"
        rows = []

        # 1. Single-record REST creates, several clients in parallel.
        def create_many(n: int, offset: int) -> None:
            s = session_for(emu)
            for i in range(n):
                r = s.post(f"{api}/sobjects/Account", json={"Name": f"Single {offset + i}"})
                assert r.status_code == 201, r.text
        per = args.single // args.clients
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(lambda k: create_many(per, k * per), range(args.clients)))
        elapsed = time.perf_counter() - started
        rows.append(("single-record REST create", f"{per * args.clients:,} requests", f"{per * args.clients / elapsed:,.0f} req/s",
                     f"{per * args.clients / elapsed:,.0f} rec/s", f"{args.clients} clients"))
        sample_rss()

        # 2. Collections upsert of 200, parallel clients.
        def upsert_many(calls: int, offset: int) -> None:
            s = session_for(emu)
            for c in range(calls):
                records = [{"attributes": {"type": "Opportunity"}, "Cothon_Ref__c": f"EMU-{offset}-{c}-{i}", "Name": f"Coll {i}",
                            "StageName": "Prospecting", "CloseDate": "2030-01-01", "Amount": 1000 + i} for i in range(200)]
                r = s.patch(f"{api}/composite/sobjects/Opportunity/Cothon_Ref__c", json={"allOrNone": False, "records": records})
                assert r.status_code == 200 and all(x["success"] for x in r.json()), r.text[:300]
        per_calls = max(1, args.collections // args.clients)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(lambda k: upsert_many(per_calls, k), range(args.clients)))
        elapsed = time.perf_counter() - started
        total = per_calls * args.clients
        rows.append(("collections upsert (200/call)", f"{total:,} calls", f"{total / elapsed:,.1f} req/s",
                     f"{total * 200 / elapsed:,.0f} rec/s", f"{args.clients} clients"))
        sample_rss()

        # Baseline: the same kind of records, one REST upsert each (one client).
        s = session_for(emu)
        started = time.perf_counter()
        for i in range(400):
            s.patch(f"{api}/sobjects/Opportunity/Cothon_Ref__c/BASE-{i}",
                    json={"Name": f"Base {i}", "StageName": "Prospecting", "CloseDate": "2030-01-01"})
        elapsed = time.perf_counter() - started
        rows.append(("baseline: per-record REST upsert", "400 calls", f"{400 / elapsed:,.0f} req/s", f"{400 / elapsed:,.0f} rec/s", "1 client"))

        # 3. A 2,000-row query page.
        started = time.perf_counter()
        pages = 10
        for _ in range(pages):
            r = s.get(f"{api}/query", params={"q": "SELECT Id, Name, Amount, StageName, CloseDate, Cothon_Ref__c FROM Opportunity LIMIT 2000"})
            assert len(r.json()["records"]) == 2000
        elapsed = time.perf_counter() - started
        rows.append(("query page of 2,000 rows", f"{pages} pages", f"{pages / elapsed:,.1f} req/s", f"{pages * 2000 / elapsed:,.0f} rec/s",
                     f"{elapsed / pages * 1000:,.0f} ms/page"))
        sample_rss()

        # 4. Bulk API 2.0 ingest.
        csv = io.StringIO()
        csv.write("Name,Cothon_Department_Key__c,Phone\n")
        for i in range(args.bulk_records):
            csv.write(f"Bulk Account {i},bulk-{i},613-555-{i % 10000:04d}\n")
        body = csv.getvalue().encode()
        started = time.perf_counter()
        job = s.post(f"{api}/jobs/ingest", json={"object": "Account", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"}).json()
        r = s.put(f"{api}/jobs/ingest/{job['id']}/batches", data=body, headers={"Content-Type": "text/csv"})
        assert r.status_code == 201, r.text
        s.patch(f"{api}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
        polls = 0
        while True:
            info = s.get(f"{api}/jobs/ingest/{job['id']}").json()
            polls += 1
            sample_rss()
            if info["state"] in ("JobComplete", "Failed", "Aborted"):
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        rows.append((f"Bulk 2.0 ingest of {args.bulk_records:,} Accounts", f"{3 + polls} calls", info["state"],
                     f"{info.get('numberRecordsProcessed', 0) / elapsed:,.0f} rec/s",
                     f"{elapsed:.1f}s, {info.get('numberRecordsFailed', 0)} failed"))

        print(f"Emulator at {emu.client.instance_url} (separate process, HTTPS, SQLite store)\n")
        print(table(rows, ("workload", "volume", "rate", "records/s", "notes")))
        print(f"\nEmulator peak RSS during the run: {peak['rss'] / 2**20:.0f} MB")
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
