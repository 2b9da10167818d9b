"""Quotes benchmark (docs/quotes.md): Synchronize now over N opportunities at the trigger stage,
a batch of M stored Outbound Message notifications made into quotes, and Send to Salesforce —
API calls and time of each, against a naive per-record baseline measured in the same run.

    .venv/bin/python benchmarks/quotes.py [--opportunities 1000] [--notifications 200] [--sends 10]
                                          [--naive-sample 200]

Everything runs through the real services: quote_sync_start / quote_sync_run, the receiver's
quote_notifications_receive (a SOAP body as tests/quotes/test_receiver.py builds it) then
quote_notifications_process, quote_send_request / quote_send_execute. The naive baseline is what
a per-record implementation does after the one Id query: one query for the opportunity's
Account and one for its contact roles (Synchronize now), or one query per notified
opportunity with its Account and contact roles (notifications) — run against the emulator for
the first --naive-sample records and scaled to all of them (calls are per record, so the
scaling is exact for calls; seconds are scaled linearly). Runs against PostgreSQL + Redis when
reachable (prints which) and a private emulator."""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

from _harness import Emulator, connect_bench_org, setup_django, table, teardown_django


def emu_session(emu: Emulator):
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = emu.client.ca_bundle
    session.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo')['access_token']}"
    return session


def seed_opportunities(emu: Emulator, n: int, stage: str, prefix: str) -> list[str]:
    """N opportunities at `stage`, each on one of the org's Accounts with a primary contact role
    (a Contact of that Account when it has one), 200 a call. Returns their ids."""
    session = emu_session(emu)
    api = f"{emu.client.instance_url}/services/data/v59.0"

    def query(soql: str) -> list[dict]:
        response = session.get(f"{api}/query", params={"q": soql})
        response.raise_for_status()
        return response.json()["records"]

    accounts = [a["Id"] for a in query("SELECT Id FROM Account ORDER BY Id")]
    contacts = query("SELECT Id, AccountId FROM Contact ORDER BY Id")
    contact_of = {c["AccountId"]: c["Id"] for c in contacts if c.get("AccountId")}
    ids: list[str] = []
    for start in range(0, n, 200):
        records = [{"attributes": {"type": "Opportunity"}, "Name": f"{prefix} #{i}", "StageName": stage, "CloseDate": "2031-05-14",
                    "Amount": 10000 + i, "AccountId": accounts[i % len(accounts)]} for i in range(start, min(n, start + 200))]
        response = session.post(f"{api}/composite/sobjects", json={"allOrNone": True, "records": records})
        response.raise_for_status()
        made = [r["id"] for r in response.json()]
        ids += made
        roles = [{"attributes": {"type": "OpportunityContactRole"}, "OpportunityId": opportunity, "IsPrimary": True,
                  "Role": "Decision Maker",
                  "ContactId": contact_of.get(record["AccountId"]) or contacts[i % len(contacts)]["Id"]}
                 for i, (opportunity, record) in enumerate(zip(made, records))]
        session.post(f"{api}/composite/sobjects", json={"allOrNone": True, "records": roles}).raise_for_status()
    return ids


def naive_per_record(connection, ids: list[str], *, with_id_query: str | None) -> tuple[int, float]:
    """What a per-record implementation does: (the Id query, then) for each opportunity one
    query for its fields and Account and one for its contact roles. (calls, seconds)."""
    from integrations.connections import client_for
    from integrations.salesforce.soql import soql_quote
    from sync_engine.quotes.records import CONTACT_FIELDS

    calls = [0]
    client = client_for(connection, on_call=lambda _record: calls.__setitem__(0, calls[0] + 1))
    contact_fields = ", ".join(f"Contact.{name}" for name in CONTACT_FIELDS)
    started = time.perf_counter()
    if with_id_query:
        list(client.query_all_iter(with_id_query))
    for sf_id in ids:
        client.query(f"SELECT Id, Name, StageName, Amount, CloseDate, AccountId, Account.Name FROM Opportunity "
                     f"WHERE Id = {soql_quote(sf_id)}")
        client.query(f"SELECT IsPrimary, {contact_fields} FROM OpportunityContactRole WHERE OpportunityId = {soql_quote(sf_id)} "
                     "ORDER BY IsPrimary DESC")
    return calls[0], time.perf_counter() - started


def scaled(calls_seconds: tuple[int, float], sample: int, total: int, fixed_calls: int = 0) -> tuple[int, float]:
    calls, seconds = calls_seconds
    if sample >= total:
        return calls, seconds
    return fixed_calls + round((calls - fixed_calls) * total / sample), seconds * total / sample


def org_calls(connection) -> int:
    """Every API call the client layer accounted for the connection (describes included)."""
    from django.db.models import Sum

    from sync_engine.models import ApiCallBucket

    return ApiCallBucket.objects.filter(connection=connection).aggregate(n=Sum("calls"))["n"] or 0


def synchronize_now(connection) -> tuple[object, int, float]:
    """One Synchronize now: (the run, API calls accounted for the connection, seconds)."""
    from sync_engine.quotes.sync_now import quote_sync_run, quote_sync_start

    before, started = org_calls(connection), time.perf_counter()
    run = quote_sync_start(connection=connection, actor=None)
    run = quote_sync_run(run_id=run.pk)
    return run, org_calls(connection) - before, time.perf_counter() - started


def notifications(connection, ids: list[str]) -> tuple[int, float, float, dict]:
    """The M notifications through the real receiver (one message of up to 100, as Salesforce
    batches them) then the real processing. (API calls, receive s, process s, results)."""
    from django.db.models import Count

    from sync_engine.quotes.inbound import quote_notifications_process
    from sync_engine.quotes.models import QuoteNotification
    from sync_engine.quotes.receiver import quote_notifications_receive
    from tests.pull.test_outbound_receiver import soap

    started = time.perf_counter()
    for start in range(0, len(ids), 100):
        body = soap(connection.org_id, [(f"04l{start + i:015d}", {"Id": sf_id, "Name": f"Notified #{start + i}", "StageName": "Proposal",
                                                                   "Amount": "25000.0"})
                                        for i, sf_id in enumerate(ids[start:start + 100])])
        quote_notifications_receive(connection=connection, body=body)
    received = time.perf_counter() - started
    calls_before, started = org_calls(connection), time.perf_counter()
    quote_notifications_process(connection_id=connection.pk)
    processed = time.perf_counter() - started
    calls = org_calls(connection) - calls_before
    results = dict(QuoteNotification.objects.filter(connection=connection).values_list("result").annotate(n=Count("id")))
    return calls, received, processed, results


def sends(tenant, connection, opportunity_ids: list[str], member) -> tuple[list[int], list[float], list[float]]:
    """Send to Salesforce of `len(opportunity_ids)` quotes with lines (one per opportunity):
    (calls per send, ms per send, warm PDF render ms)."""
    from proposals.quote_pdf import render_quote_pdf
    from sync_engine.models import LinkStatus, RecordType, SyncLink
    from sync_engine.quotes import send as svc
    from sync_engine.quotes.models import QuoteSettings
    from tests.proposals.quote_world import make_quote

    QuoteSettings.objects.filter(connection=connection).update(sync_back=True)
    quotes = []
    for i, sf_id in enumerate(opportunity_ids):
        quote = make_quote(tenant, owner=member, title=f"Send benchmark #{i}", company_name=f"Send benchmark department {i}")
        SyncLink.objects.create(tenant=tenant, connection=connection, record_type=RecordType.QUOTE, record_id=quote.pk,
                                sobject="Opportunity", salesforce_id=sf_id, status=LinkStatus.SYNCED)
        quotes.append(quote)
    render_quote_pdf(quotes[0])  # warm: fonts and templates loaded once per process
    renders = []
    for quote in quotes:
        t0 = time.perf_counter()
        render_quote_pdf(quote)
        renders.append((time.perf_counter() - t0) * 1000)
    calls, ms = [], []
    for quote in quotes:
        t0 = time.perf_counter()
        send = svc.quote_send_request(tenant=tenant, quote=quote, actor=member)
        while svc.quote_send_execute(send_id=send.pk) is not None:
            pass
        ms.append((time.perf_counter() - t0) * 1000)
        send.refresh_from_db()
        if send.status != "sent":
            raise RuntimeError(f"send {send.pk} ended {send.status}: {send.error_code} {send.error_message}")
        calls.append(send.api_calls)
    return calls, ms, renders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=1000)
    parser.add_argument("--notifications", type=int, default=200)
    parser.add_argument("--sends", type=int, default=10)
    parser.add_argument("--naive-sample", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    backend = setup_django("quotes")
    emu = Emulator()
    try:
        from cothon.tenancy.services import membership_set, user_get_or_create
        from sync_engine.quotes.models import QuoteSettings

        print(f"Backend: {backend}; emulator: {emu.client.instance_url}")
        tenant, connection = connect_bench_org(emu)
        user = user_get_or_create(username="bench-member", email="member@bench.example", password="pass-word-123")
        membership_set(tenant=tenant, user=user, role="member")
        member = user
        QuoteSettings.objects.create(connection=connection, opportunity_to_quote=True, contact_to_person=True,
                                     trigger_stage="Proposal", owner=member)
        t0 = time.perf_counter()
        at_trigger = seed_opportunities(emu, args.opportunities, "Proposal", "Quote benchmark")
        notified = seed_opportunities(emu, args.notifications, "Negotiation", "Notified benchmark")
        print(f"Seeded {len(at_trigger):,} opportunities at the trigger stage and {len(notified):,} to notify, each with a "
              f"primary contact role, in {time.perf_counter() - t0:.0f}s")

        # (a) Synchronize now, twice; the naive baseline over a sample of the same records.
        first, first_calls, first_s = synchronize_now(connection)
        second, second_calls, second_s = synchronize_now(connection)
        sample = min(args.naive_sample, len(at_trigger))
        naive_a = scaled(naive_per_record(connection, at_trigger[:sample],
                                          with_id_query="SELECT Id FROM Opportunity WHERE StageName = 'Proposal' ORDER BY Id"),
                         sample, len(at_trigger), fixed_calls=1)
        # (b) notifications: the receiver, then one processing pass; the naive baseline.
        calls_b, receive_s, process_s, results_b = notifications(connection, notified)
        sample_b = min(args.naive_sample, len(notified))
        naive_b = scaled(naive_per_record(connection, notified[:sample_b], with_id_query=None), sample_b, len(notified))
        # (c) Send to Salesforce (opportunities at the other stage, so no quote of theirs exists).
        extra = seed_opportunities(emu, args.sends, "Negotiation", "Send benchmark")
        calls_c, ms_c, render_c = sends(tenant, connection, extra, member)

        load = os.getloadavg()
        print(f"\n(a) Synchronize now over {len(at_trigger):,} opportunities at the trigger stage with no quote yet; "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        naive_note = "" if sample >= len(at_trigger) else f" (measured on {sample:,}, scaled)"
        print(table([
            ("Cothon, first run", f"{first_calls} (run's own: {first.api_calls})", f"{first_s:.1f}s", first.created, first.existing, first.status),
            ("Cothon, second run (idempotent)", f"{second_calls} (run's own: {second.api_calls})", f"{second_s:.1f}s", second.created, second.existing, second.status),
            ("naive: Id query + Account and contact-role query per opportunity" + naive_note, f"{naive_a[0]:,}",
             f"{naive_a[1]:.1f}s", "", "", "(reads only)"),
        ], ("approach", "API calls", "time", "quotes made", "already had one", "status")))
        naive_note = "" if sample_b >= len(notified) else f" (measured on {sample_b:,}, scaled)"
        print(f"\n(b) {len(notified):,} Outbound Message notifications (stored by the receiver, then processed); "
              f"results {results_b}")
        print(table([
            ("Cothon: receiver + one processing pass", calls_b, f"{receive_s:.1f}s + {process_s:.1f}s"),
            ("naive: one opportunity and one contact-role query per notification" + naive_note, f"{naive_b[0]:,}",
             f"{naive_b[1]:.1f}s (reads only)"),
        ], ("approach", "API calls", "time")))
        print(f"\n(c) Send to Salesforce, {len(calls_c)} quotes of 3 lines each (median)")
        print(table([("send (Amount, file look-up, upload, version read)", statistics.median(calls_c),
                      f"{statistics.median(ms_c):.0f} ms"),
                     ("quote PDF render (warm)", "", f"{statistics.median(render_c):.0f} ms")],
                    ("step", "API calls per send", "time")))
    finally:
        emu.stop()
        teardown_django()


if __name__ == "__main__":
    main()
