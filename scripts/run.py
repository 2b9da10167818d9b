"""`make run`: set up and start the whole product on embedded defaults.

SQLite, kombu's filesystem broker (no server), the local Salesforce emulator, real Celery
worker processes and beat, and the web app. Prints the URL and the demo logins. Ctrl-C stops
every process this script started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("COTHON_VAR_DIR", str(ROOT / "var")))
PY = sys.executable


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The demo runs like production: DEBUG off (branded 404/500, no technical pages, static files
    # through WhiteNoise). COTHON_DEMO=1 only lets it generate its keys into var/.
    env.setdefault("DJANGO_DEBUG", "0")
    env["COTHON_DEMO"] = "1"
    # The demo's Salesforce is the local emulator on 127.0.0.1 (decisions.md); nothing else may
    # reach a loopback host. oauthlib refuses its plain-HTTP login page unless told otherwise.
    env["COTHON_ALLOW_LOOPBACK_SALESFORCE"] = "1"
    env["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    env.setdefault("COTHON_BASE_URL", f"http://127.0.0.1:{env.get('PORT', '8000')}")
    # The OAuth callback's one-time code never reaches the access log.
    env.setdefault("GUNICORN_CMD_ARGS", "--logger-class cothon.gunicorn_logging.RedactingLogger")
    env["PYTHONUNBUFFERED"] = "1"
    # make run never auto-detects the production stack: embedded defaults unless asked.
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)


class Supervisor:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[tuple[str, subprocess.Popen]] = []
        (VAR / "log").mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(VAR / "log" / f"{name}.log", "ab")
        # Own process group, so Ctrl-C in the terminal reaches us first and we stop them in order.
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def stop(self) -> None:
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for name, proc in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        print("All Cothon processes stopped.")

    def watch(self) -> int:
        while True:
            for name, proc in self.children:
                code = proc.poll()
                if code is not None:
                    print(f"\n{name} exited with code {code}; see {VAR / 'log' / name}.log. Stopping everything.")
                    return 1
            time.sleep(0.5)


def _wait_for_emulator(data_dir: Path, proc: subprocess.Popen, timeout: float = 30) -> dict:
    runtime = data_dir / "runtime.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"The Salesforce emulator failed to start; see {VAR / 'log' / 'emulator.log'}")
        if runtime.exists():
            try:
                info = json.loads(runtime.read_text())
                if info.get("pid") == proc.pid:
                    return info
            except json.JSONDecodeError:
                pass
        time.sleep(0.2)
    raise SystemExit(f"The Salesforce emulator did not start within 30 s; see {VAR / 'log' / 'emulator.log'}")


def _wait_for_http(url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The web server did not answer at {url}; see {VAR / 'log' / 'web.log'}")


def _connect_demo_orgs(env: dict[str, str], emulator_dir: Path) -> None:
    """Tenant 1 → the emulator's demo org, tenant 2 → its sandbox org, then the first full sync."""
    paths = {}
    for org in ("demo", "sandbox"):
        out = subprocess.run([PY, "-m", "salesforce_emulator", "credentials", "--data-dir", str(emulator_dir), "--org", org],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        path = VAR / f"emulator-{org}-credentials.json"
        path.write_text(out)
        path.chmod(0o600)
        paths[org] = path
    print("Connecting the demo tenants to the emulator's orgs and running the first full sync…", flush=True)
    _manage(env, "connect_demo_orgs", "--demo-credentials", str(paths["demo"]), "--sandbox-credentials", str(paths["sandbox"]))


def main() -> int:
    env = _env()
    port = env.get("PORT", "8000")
    print("Preparing the database and demo data…", flush=True)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo")

    sup = Supervisor(env)
    # Ctrl-C, a closed terminal or a kill all stop everything. Installed explicitly: a shell
    # that starts us in the background leaves SIGINT ignored, which Python would inherit.
    def interrupt(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        emulator_dir = VAR / "emulator"
        emulator = sup.start("emulator", [
            PY, "-m", "salesforce_emulator", "serve", "--data-dir", str(emulator_dir),
            "--port", env.get("EMULATOR_PORT", "8443"), "--http-port", env.get("EMULATOR_HTTP_PORT", "8080"),
        ])
        emulator_info = _wait_for_emulator(emulator_dir, emulator)
        _connect_demo_orgs(env, emulator_dir)
        sup.start("web", [PY, "-m", "gunicorn", "cothon.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                          "--threads", "4", "--access-logfile", "-"])
        celery = [PY, "-m", "celery", "-A", "cothon"]
        sup.start("worker-realtime", celery + ["worker", "-Q", "realtime", "-c", "1", "-n", "realtime@%h", "-l", "info"])
        sup.start("worker-default", celery + ["worker", "-Q", "default,bulk", "-c", "2", "-n", "default@%h", "-l", "info"])
        sup.start("beat", celery + ["beat", "-l", "info", "--schedule", str(VAR / "celerybeat-schedule")])
        _wait_for_http(f"http://127.0.0.1:{port}/healthz")

        from cothon.demo_accounts import DEMO_PASSWORD, DEMO_TENANTS

        print("\n" + "=" * 72)
        print(f"  Cothon is running:  http://127.0.0.1:{port}/")
        print(f"  Demo password for every user below: {DEMO_PASSWORD}")
        for spec in DEMO_TENANTS:
            print(f"  {spec.name}: " + ", ".join(f"{u} ({'bid manager' if r == 'member' else r})" for u, _, _, r in spec.people))
        print(f"  API docs:           http://127.0.0.1:{port}/api/docs/")
        print(f"  Salesforce emulator: {emulator_info.get('instance_url')} (HTTPS)  {emulator_info.get('http_url')} (HTTP)")
        print(f"  Emulator data dir:  {emulator_dir}   (python -m salesforce_emulator credentials)")
        for org in ("demo", "sandbox"):
            admin = json.loads((VAR / f"emulator-{org}-credentials.json").read_text()).get("admin") or {}
            if admin:
                print(f"  Salesforce login page ({org} org): {admin.get('username')} / {admin.get('password')}")
        print(f"  Logs: {VAR / 'log'}/*.log     Stop: Ctrl-C")
        print("=" * 72, flush=True)
        return sup.watch()
    except KeyboardInterrupt:
        print("\nStopping…")
        return 0
    finally:
        sup.stop()


if __name__ == "__main__":
    sys.exit(main())
