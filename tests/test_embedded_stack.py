"""`make run`'s embedded stack: SQLite, the filesystem broker, the emulator and real worker
processes, started by scripts/run.py exactly as a newcomer gets them.

- A status change made in Cothon reaches Salesforce.
- A crashed process is restarted with backoff, and the console says so.
- Ctrl-C (as a terminal sends it: to the whole foreground process group, twice) stops every
  process with no traceback, during setup as well as once running.
- Killing the supervisor with SIGKILL leaves no child or grandchild behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


class Stack:
    """scripts/run.py in its own process group, as a terminal's foreground job."""

    def __init__(self, tmp_path: Path, command: list[str] | None = None):
        self.tmp_path = tmp_path
        self.var = tmp_path / "var"
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "COTHON_TEST_DB_NAME")}
        self.env.update(COTHON_VAR_DIR=str(self.var), PORT=str(self.port), EMULATOR_PORT=str(_free_port()),
                        EMULATOR_HTTP_PORT=str(_free_port()), SMTP_CATCHER_PORT=str(_free_port()), DJANGO_SETTINGS_MODULE="cothon.settings")
        self.log_path = tmp_path / "run.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(command or [sys.executable, "scripts/run.py"], cwd=ROOT, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.seen: list[psutil.Process] = []

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while text not in self.output():
            assert self.process.poll() is None and time.time() < deadline, self.output()[-4000:]
            time.sleep(0.3)

    def descendants(self) -> list[psutil.Process]:
        found = psutil.Process(self.process.pid).children(recursive=True)
        self.seen.extend(p for p in found if p.pid not in {s.pid for s in self.seen})
        return found

    def child(self, marker: str) -> psutil.Process:
        [proc] = [p for p in psutil.Process(self.process.pid).children() if marker in " ".join(p.cmdline())]
        return proc

    def ctrl_c(self) -> None:
        """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def close(self) -> None:
        """Leave nothing running, whatever the test did."""
        if self.process.poll() is None:
            self.descendants()
            self.process.kill()
            self.process.wait()
        for p in _alive(self.seen):
            p.kill()
        self._log.close()


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    s.close()


def _push_reaches_salesforce(stack: Stack, status: str, stage: str) -> None:
    """A change saved in Cothon arrives in the emulator's org through the real-time worker."""
    env = stack.env
    script = ("from opportunities.models import Opportunity; from opportunities.services import opportunity_update; "
              "from django.db import transaction\n"
              "o = Opportunity.objects.filter(tenant__slug='maple', status='identified').order_by('id').first()\n"
              f"with transaction.atomic(): opportunity_update(tenant=o.tenant, opportunity=o, data={{'status': '{status}'}})\n"
              "print(o.reference)")
    reference = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
    creds = json.loads(subprocess.run([sys.executable, "-m", "salesforce_emulator", "credentials", "--data-dir",
                                       str(stack.var / "emulator")], cwd=ROOT, env=env, check=True,
                                      capture_output=True, text=True).stdout)
    sf = requests.Session()
    sf.trust_env = False
    sf.verify = creds["ca_bundle"]
    sf.headers["Authorization"] = f"Bearer {creds['access_token']}"
    deadline = time.time() + 90
    while True:
        records = sf.get(f"{creds['instance_url']}/services/data/v59.0/query",
                         params={"q": f"SELECT StageName FROM Opportunity WHERE Cothon_Ref__c = '{reference}'"}).json()["records"]
        if records and records[0]["StageName"] == stage:
            return
        assert time.time() < deadline, (stack.var / "log" / "worker-realtime.log").read_text()[-3000:]
        time.sleep(0.5)


@pytest.mark.timeout(400)
def test_make_run_serves_restarts_a_killed_worker_and_leaves_nothing_when_killed(stack):
    stack.wait_for_output("Cothon is running")
    output = stack.output()
    assert f"http://127.0.0.1:{stack.port}/" in output and "maple-admin" in output and "cothon-demo-2026" in output
    assert "first full sync finished" in output
    assert "routing rules on (contract, proposal, custom document, results, credit application)" in output
    # The SMTP catcher takes the demo's e-mail (docs/routing.md) and writes it to var/outbox.
    assert (stack.var / "outbox" / ".port").read_text() == stack.env["SMTP_CATCHER_PORT"]
    with smtplib.SMTP("127.0.0.1", int(stack.env["SMTP_CATCHER_PORT"]), timeout=10) as smtp:
        smtp.sendmail("demo@cothon.invalid", ["office@example.com"], "Subject: caught\r\n\r\nHello")
    assert [p.read_bytes().count(b"Subject: caught") for p in (stack.var / "outbox").glob("*.eml")] == [1]

    # The web app answers and the demo login works.
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(f"http://127.0.0.1:{stack.port}/accounts/login/")
    response = browser.post(f"http://127.0.0.1:{stack.port}/accounts/login/", data={
        "username": "maple-bidmanager", "password": "cothon-demo-2026", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": page.url})
    assert response.status_code == 200 and "Opportunities" in response.text

    # kill -9 of the real-time worker: restarted after 1 s, then (killed again at once) after 2 s.
    for restart, delay in ((1, 1), (2, 2)):
        worker = stack.child("-Q realtime")
        worker.kill()
        stack.wait_for_output(f"worker-realtime exited with code -9; restarting in {delay} s (restart {restart})", timeout=30)
        deadline = time.time() + 30
        while len(restarted := re.findall(r"worker-realtime restarted \(pid (\d+)\)", stack.output())) < restart:
            assert time.time() < deadline, stack.output()[-3000:]
            time.sleep(0.2)
        assert int(restarted[-1]) == stack.child("-Q realtime").pid != worker.pid
    assert stack.process.poll() is None
    for name in ("emulator", "smtp-catcher", "web", "worker-default", "beat"):
        assert f"{name} exited" not in stack.output()

    # The restarted worker does the work: a change made in Cothon reaches Salesforce.
    _push_reaches_salesforce(stack, "won", "Closed Won")

    # Ready (docs/monitoring.md): SQLite, the embedded broker's folder, both workers' heartbeats
    # (the restarted one's too) and beat's tick, the outbox sweep every 15 s.
    deadline = time.time() + 40
    while (ready := browser.get(f"http://127.0.0.1:{stack.port}/readyz")).status_code != 200:
        assert time.time() < deadline, ready.text
        time.sleep(1)
    assert ready.json()["checks"]["broker"]["detail"].startswith("embedded broker") and ready.json()["failing"] == []

    # SIGKILL of the supervisor (what killing `make run` hard does): its children get
    # PR_SET_PDEATHSIG, their own children (gunicorn workers) follow.
    tree = stack.descendants()
    direct = psutil.Process(stack.process.pid).children()
    assert len(direct) == 6 and len(tree) >= len(direct) + 2, [p.cmdline() for p in tree]  # web workers
    # The workers run no prefork pool on the embedded broker (scripts/run.py says why).
    workers = [p for p in direct if "worker" in p.cmdline()]
    assert len(workers) == 2 and not [c for w in workers for c in w.children()], [w.cmdline() for w in workers]
    started = time.monotonic()
    stack.process.send_signal(signal.SIGKILL)
    stack.process.wait()
    while _alive(tree) and time.monotonic() - started < 20:
        time.sleep(0.1)
    alive = _alive(tree)
    assert not alive, f"still running after the supervisor was killed: {[p.cmdline() for p in alive]}"
    print(f"every process gone {time.monotonic() - started:.1f} s after SIGKILL of the supervisor")


@pytest.mark.timeout(300)
def test_ctrl_c_twice_stops_every_process_without_a_traceback(stack):
    stack.wait_for_output("Cothon is running")
    tree = stack.descendants()
    stack.ctrl_c()
    time.sleep(0.5)
    stack.ctrl_c()  # impatient: a second Ctrl-C while it stops
    assert stack.process.wait(timeout=60) == 0
    time.sleep(1)
    alive = _alive(tree)
    assert not alive, f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    output = stack.output()
    assert "Stopping (SIGINT)" in output and output.rstrip().endswith("All Cothon processes stopped.")
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


@pytest.mark.timeout(300)
def test_ctrl_c_during_setup_stops_without_a_traceback(stack):
    """Ctrl-C while the first full sync runs (a setup command in the foreground)."""
    stack.wait_for_output("Connecting the demo tenants")
    tree = stack.descendants()
    stack.ctrl_c()
    assert stack.process.wait(timeout=60) == 0
    time.sleep(1)
    alive = _alive(tree)
    assert not alive, f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    output = stack.output()
    assert "Stopping (SIGINT)" in output and "All Cothon processes stopped." in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "Cothon is running" not in output


@pytest.mark.timeout(120)
def test_the_supervisor_stops_everything_when_make_is_killed(tmp_path):
    """`make run` passes --stop-with-parent: SIGKILL of the parent (make) is a SIGTERM to the
    supervisor, which stops as on Ctrl-C. The parent here is a stand-in for make."""
    make = [sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, 'scripts/run.py', '--stop-with-parent'])"]
    stack = Stack(tmp_path, command=make)
    try:
        stack.wait_for_output("Preparing the database", timeout=60)
        [supervisor] = psutil.Process(stack.process.pid).children()
        tree = supervisor.children(recursive=True)  # the setup command running now
        stack.process.kill()
        stack.process.wait()
        supervisor.wait(timeout=60)
        time.sleep(1)
        assert not _alive(tree)
        output = stack.output()
        assert "Stopping (SIGTERM)" in output and "All Cothon processes stopped." in output
        assert "Traceback" not in output
    finally:
        stack.close()
