"""Smoke test of `make run`'s embedded stack: SQLite, the filesystem broker, the emulator and
real worker processes, started by scripts/run.py exactly as a newcomer gets them. A status
change made in Cothon reaches Salesforce; Ctrl-C stops every process."""

from __future__ import annotations

import json
import os
import signal
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


@pytest.mark.timeout(300)
def test_make_run_brings_up_a_connected_product_and_ctrl_c_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "COTHON_TEST_DB_NAME")}
    port = _free_port()
    env.update(COTHON_VAR_DIR=str(tmp_path / "var"), PORT=str(port), EMULATOR_PORT=str(_free_port()),
               EMULATOR_HTTP_PORT=str(_free_port()), DJANGO_SETTINGS_MODULE="cothon.settings")
    log = open(tmp_path / "run.log", "w")
    run = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        deadline = time.time() + 240
        while "Cothon is running" not in (tmp_path / "run.log").read_text():
            assert run.poll() is None and time.time() < deadline, (tmp_path / "run.log").read_text()[-4000:]
            time.sleep(0.5)
        output = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output and "maple-admin" in output and "cothon-demo-2026" in output
        assert "first full sync finished" in output

        # The web app answers and the demo login works.
        browser = requests.Session()
        browser.trust_env = False
        page = browser.get(f"http://127.0.0.1:{port}/accounts/login/")
        token = browser.cookies["csrftoken"]
        response = browser.post(f"http://127.0.0.1:{port}/accounts/login/", data={
            "username": "maple-bidmanager", "password": "cothon-demo-2026", "csrfmiddlewaretoken": token},
            headers={"Referer": page.url})
        assert response.status_code == 200 and "Opportunities" in response.text

        # A change made in Cothon reaches Salesforce through the real-time worker.
        script = ("from opportunities.models import Opportunity; from opportunities.services import opportunity_update; "
                  "from django.db import transaction\n"
                  "o = Opportunity.objects.filter(tenant__slug='maple', status='identified').order_by('id').first()\n"
                  "with transaction.atomic(): opportunity_update(tenant=o.tenant, opportunity=o, data={'status': 'won'})\n"
                  "print(o.reference)")
        reference = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True,
                                   capture_output=True, text=True).stdout.strip().splitlines()[-1]
        creds = json.loads(subprocess.run([sys.executable, "-m", "salesforce_emulator", "credentials", "--data-dir",
                                           str(tmp_path / "var" / "emulator")], cwd=ROOT, env=env, check=True,
                                          capture_output=True, text=True).stdout)
        sf = requests.Session()
        sf.trust_env = False
        sf.verify = creds["ca_bundle"]
        sf.headers["Authorization"] = f"Bearer {creds['access_token']}"
        deadline = time.time() + 60
        while True:
            records = sf.get(f"{creds['instance_url']}/services/data/v59.0/query",
                             params={"q": f"SELECT StageName FROM Opportunity WHERE Cothon_Ref__c = '{reference}'"}).json()["records"]
            if records and records[0]["StageName"] == "Closed Won":
                break
            assert time.time() < deadline, (tmp_path / "var" / "log" / "worker-realtime.log").read_text()[-3000:]
            time.sleep(0.5)
    finally:
        children = psutil.Process(run.pid).children(recursive=True) if run.poll() is None else []
        run.send_signal(signal.SIGINT)  # Ctrl-C
        run.wait(timeout=60)
        log.close()
    time.sleep(1)
    alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, f"still running after Ctrl-C: {[p.cmdline() for p in alive]}"
    assert "All Cothon processes stopped." in (tmp_path / "run.log").read_text()
