"""Appointments benchmark (docs/appointment-pull.md, docs/routing.md): the appointment pull of R
reps × A appointments each through the real pull service with the improveit 360 query and
mappings of the demo — API calls, time, appointments written, and a second (unchanged) pull —
against a naive baseline in the same run; then route_file of a 5 MB and a 36 MB file (the
largest Salesforce takes through the API): seconds and peak RSS of the uploading process.

    .venv/bin/python benchmarks/appointments.py [--reps 5] [--appointments 400] [--naive-sample 200]

The naive baseline is what reading each record on its own does: per rep, the Id query (the same
WHERE, one call per 2,000 rows), then one query per appointment for its fields. It is run
against the emulator for the first --naive-sample appointments of the first rep and scaled to
all R × A (calls are per record, so the scaling is exact for calls; seconds are scaled
linearly). Each upload runs in its own child process (the worker's part, routed_file_upload),
so its peak RSS is the upload's alone. Runs against PostgreSQL + Redis when reachable (prints
which) and a private emulator."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

from _harness import ROOT, Emulator, connect_bench_org, setup_django, table, teardown_django

OBJECT = "i360__Appointment__c"


def emu_session(emu: Emulator):
    """As the org's admin (the integration user may only read Staff and edit appointments)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = emu.client.ca_bundle
    session.headers["Authorization"] = f"Bearer {emu.client.mint_token('demo', 'admin@cothon-demo.example.com')['access_token']}"
    return session


def seed(emu: Emulator, reps: int, per_rep: int) -> list[str]:
    """R Staff records with A upcoming appointments each, 200 a call. Returns the Staff ids."""
    session = emu_session(emu)
    url = f"{emu.client.instance_url}/services/data/v59.0/composite/sobjects"
    staff = [{"attributes": {"type": "i360__Staff__c"}, "Name": f"Bench Rep {r}", "i360__Email__c": f"rep{r}@bench.example"}
             for r in range(reps)]
    response = session.post(url, json={"allOrNone": True, "records": staff})
    response.raise_for_status()
    staff_ids = [row["id"] for row in response.json()]
    start = datetime.datetime.now(datetime.UTC).replace(minute=0, second=0, microsecond=0) + datetime.timedelta(days=1)
    rows = [{"attributes": {"type": OBJECT}, "i360__Staff__c": staff_id, "i360__Customer_Name__c": f"Customer {r}-{i}",
             "i360__Street__c": f"{i} Elm Street", "i360__City__c": "Ottawa", "i360__State__c": "ON", "i360__Zip__c": "K1A 0B1",
             "i360__Customer_Phone__c": "613-555-0101", "i360__Customer_Email__c": f"customer{r}.{i}@example.com",
             "i360__Start__c": (start + datetime.timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "i360__Duration__c": 90}
            for r, staff_id in enumerate(staff_ids) for i in range(per_rep)]
    for first in range(0, len(rows), 200):
        session.post(url, json={"allOrNone": True, "records": rows[first:first + 200]}).raise_for_status()
    return staff_ids


def pull(connection):
    from sync_engine.appointments.models import AppointmentPull, PullTrigger
    from sync_engine.appointments.pull import appointments_pull_run

    started = time.perf_counter()
    run = AppointmentPull.objects.create(tenant_id=connection.tenant_id, connection=connection, trigger=PullTrigger.MANUAL)
    run = appointments_pull_run(pull_id=run.pk)
    return run, time.perf_counter() - started


def naive(connection, staff_id: str, sample: int) -> tuple[int, int, float, int]:
    """The Id query of one rep, then one query per appointment (the first `sample`): (the Id
    query's calls, the per-record calls, seconds, the rep's appointment count)."""
    from demo.appointments import IMPROVEIT_QUERY
    from integrations.connections import client_for
    from integrations.salesforce.soql import soql_quote

    calls = [0]
    client = client_for(connection, on_call=lambda _record: calls.__setitem__(0, calls[0] + 1))
    select, _, where = IMPROVEIT_QUERY.partition("FROM")
    where = where.replace(":user_identifier", soql_quote(staff_id))
    started = time.perf_counter()
    ids = [row["Id"] for row in client.query_all_iter(f"SELECT Id FROM{where}")]
    id_query_calls = calls[0]
    for sf_id in ids[:sample]:
        client.query(f"{select} FROM {OBJECT} WHERE Id = {soql_quote(sf_id)}")
    return id_query_calls, calls[0] - id_query_calls, time.perf_counter() - started, len(ids)


def upload_child(routed_id: int) -> None:
    import django

    django.setup()
    from sync_engine.appointments.upload import routed_file_upload

    before = _vm_hwm_kb()
    started = time.perf_counter()
    routed = routed_file_upload(routed_file_id=routed_id)
    print(json.dumps({"status": routed.status, "error": routed.error_code, "seconds": round(time.perf_counter() - started, 2),
                      "peak_rss_mb": round(_vm_hwm_kb() / 1024, 1), "rss_before_mb": round(before / 1024, 1)}))


def _vm_hwm_kb() -> int:
    """This process's own peak RSS (VmHWM, not ru_maxrss, which a child inherits from its parent)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def route(tenant, appointment, size: int, member) -> dict:
    """route_file (the request's part) here, the upload (the worker's part) in a child process."""
    from sync_engine.appointments.models import RoutingKind
    from sync_engine.appointments.upload import route_file

    content = b"%PDF-1.4\n" + os.urandom(size - 9)
    started = time.perf_counter()
    routed = route_file(tenant=tenant, appointment=appointment, kind=RoutingKind.CONTRACT, content=content, actor=member,
                        context={})
    request_s = time.perf_counter() - started
    out = subprocess.run([sys.executable, __file__, "--upload-child", str(routed.pk)], cwd=ROOT / "benchmarks",
                         env=dict(os.environ), capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return {"request_s": request_s, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--appointments", type=int, default=400)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--upload-child", type=int)
    args = parser.parse_args()
    if args.upload_child:
        upload_child(args.upload_child)
        return

    backend = setup_django("appointments")
    emu = Emulator()
    try:
        from cothon.tenancy.services import membership_set, user_get_or_create
        from demo.appointments import IMPROVEIT_MAPPINGS, IMPROVEIT_QUERY
        from integrations.user_links import user_link_set
        from opportunities.models import Appointment
        from sync_engine.appointments.models import AppointmentSettings, RoutingKind, RoutingRule
        from sync_engine.appointments.upload import MAX_UPLOAD_BYTES

        print(f"Backend: {backend}; emulator: {emu.client.instance_url}")
        tenant, connection = connect_bench_org(emu)
        AppointmentSettings.objects.create(connection=connection, enabled=True, soql=IMPROVEIT_QUERY, field_mappings=IMPROVEIT_MAPPINGS)
        t0 = time.perf_counter()
        staff_ids = seed(emu, args.reps, args.appointments)
        users = []
        for r, staff_id in enumerate(staff_ids):
            user = user_get_or_create(username=f"bench-rep-{r}", email=f"rep{r}@bench.example", password="pass-word-123")
            membership_set(tenant=tenant, user=user, role="member")
            user_link_set(connection=connection, user_id=user.pk, unique_identifier=staff_id)
            users.append(user)
        total = args.reps * args.appointments
        print(f"Seeded {args.reps} reps × {args.appointments} upcoming appointments in {time.perf_counter() - t0:.0f}s")

        first, first_s = pull(connection)
        second, second_s = pull(connection)
        written = Appointment.objects.filter(tenant=tenant).count()
        sample = min(args.naive_sample, args.appointments)
        id_calls, per_record_calls, naive_s, per_rep = naive(connection, staff_ids[0], sample)
        naive_calls = id_calls * args.reps + round(per_record_calls * total / sample)
        naive_seconds = naive_s * total / sample

        RoutingRule.objects.update_or_create(connection=connection, kind=RoutingKind.CONTRACT, defaults={
            "enabled": True, "file_name_template": "%customerName% Contract %date%.pdf", "backup_recipients": ["office@bench.example"]})
        appointment = Appointment.objects.filter(tenant=tenant, assigned_to=users[0]).order_by("starts_at").first()
        uploads = [(f"{size // 2**20} MB", route(tenant, appointment, size, users[0])) for size in (5 * 2**20, MAX_UPLOAD_BYTES)]

        load = os.getloadavg()
        print(f"\nAppointment pull of {args.reps} reps × {args.appointments:,} appointments (improveit 360 query and mappings); "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        naive_note = f" (measured on {sample:,} records, scaled)" if sample < total else ""
        print(table([
            ("Cothon, first pull (2,000 rows a page)", first.api_calls, f"{first_s:.1f}s", first.created, first.updated, first.unchanged, first.status),
            ("Cothon, second pull (nothing changed)", second.api_calls, f"{second_s:.1f}s", second.created, second.updated,
             second.unchanged, second.status),
            ("naive: Id query per rep, then one query per appointment" + naive_note, f"{naive_calls:,}", f"{naive_seconds:.1f}s",
             "", "", "", "(reads only)"),
        ], ("approach", "API calls", "time", "created", "updated", "unchanged", "status")))
        print(f"Appointments in Cothon after both pulls: {written:,} (expected {total:,}; the naive rep had {per_rep:,})")
        print("\nroute_file: the request's part (file kept, name rendered) here; the upload in its own process")
        print(table([(label, f"{r['request_s']:.2f}s", f"{r['seconds']:.1f}s", f"{r['peak_rss_mb']:.0f} MB",
                      f"{r['rss_before_mb']:.0f} MB", r["status"] + (f" {r['error']}" if r["error"] else ""))
                     for label, r in uploads],
                    ("file", "route_file", "upload", "peak RSS of the uploader", "of which before the upload", "status")))
    finally:
        emu.stop()
        teardown_django()


if __name__ == "__main__":
    main()
