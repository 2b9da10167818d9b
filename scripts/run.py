"""`make run`: set up and start the whole product on embedded defaults.

SQLite, the filesystem broker (cothon/broker.py, no server), the local Salesforce emulator, real
Celery worker processes and beat, and the web app. Prints the URL and the demo logins.

Supervision (docs/architecture.md, "Processes"):
- a process that exits is restarted after 1 s, 2 s, 4 s … (at most 30 s; back to 1 s once it has
  stayed up a minute), and the console says so;
- only Ctrl-C, SIGTERM or SIGHUP stop everything. A signal handler only records the signal; the
  main flow notices it and stops the processes in order, so nothing raises inside a handler, a
  second Ctrl-C during the stop changes nothing, and no traceback is printed;
- each child runs in its own session (a terminal's Ctrl-C reaches this script only, which stops
  web before the workers and the emulator last) and is told by Linux to die with this script
  (PR_SET_PDEATHSIG), so killing it, even with SIGKILL, leaves no process behind. Their own
  children die with them: Celery's pool processes set PR_SET_PDEATHSIG themselves, gunicorn's
  workers exit when their master is gone. With --stop-with-parent (the Makefile passes it) this
  script also stops when `make` dies.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("COTHON_VAR_DIR", str(ROOT / "var")))
PY = sys.executable

RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
# A process up this long has recovered: its next exit starts the backoff at 1 s again.
RESTART_STABLE_AFTER_S = 60.0
STOP_GRACE_S = 15.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
    # E-mail (routing's backup e-mails) goes to the local SMTP catcher started below, never to
    # a real mail server; the "Outbox (demo)" page reads what it caught.
    env.setdefault("SMTP_CATCHER_PORT", "1025")
    env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    env["EMAIL_HOST"] = "127.0.0.1"
    env["EMAIL_PORT"] = env["SMTP_CATCHER_PORT"]
    env["EMAIL_USE_TLS"] = env["EMAIL_USE_SSL"] = "0"
    env["EMAIL_HOST_USER"] = env["EMAIL_HOST_PASSWORD"] = ""
    env["COTHON_DEMO_OUTBOX_DIR"] = str(VAR / "outbox")
    # Prometheus metrics need a bearer token (404 without one configured): a known one for the
    # demo, which listens on loopback only; production sets its own (docs/monitoring.md).
    env.setdefault("COTHON_METRICS_TOKEN", "cothon-demo-metrics")
    # make run never auto-detects the production stack: embedded defaults unless asked.
    return env


def say(message: str) -> None:
    """Print to the console, which may already be gone (SIGHUP: the terminal was closed)."""
    try:
        print(message, flush=True)
    except OSError:
        pass


class Stopping(Exception):
    """Raised in the main flow, never in a signal handler, once a stop signal has arrived."""


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(sig: int, parent: int | None = None) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (even by SIGKILL).

    Elsewhere a no-op: there, killing this script with SIGKILL leaves its children running."""
    if _libc is None:
        return
    parent = parent or os.getppid()
    _libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)


def _child_setup(sig: int):
    """preexec_fn for a child (runs after its setsid, before exec; the setting survives exec).
    The supervisor's pid is taken before the fork, so a supervisor that dies in between is seen."""
    supervisor = os.getpid()
    return lambda: die_with_parent(sig, supervisor)


@dataclass
class Child:
    name: str
    args: list[str]
    death_signal: int
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0  # consecutive restarts; back to 0 once it stays up RESTART_STABLE_AFTER_S
    restart_at: float | None = None


class Supervisor:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[Child] = []
        self.stop_signal: int | None = None
        (VAR / "log").mkdir(parents=True, exist_ok=True)

    # --- signals -----------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored,
        # which Python would inherit.
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._record_signal)

    def _record_signal(self, signum, _frame) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def check(self) -> None:
        if self.stop_signal is not None:
            raise Stopping

    def sleep(self, seconds: float) -> None:
        """time.sleep that ends early, with Stopping, when a stop signal arrives."""
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    # --- one-off setup commands --------------------------------------------------------------

    def step(self, args: list[str], capture: bool = False) -> str:
        """Run a setup command to completion (stopped, with Stopping, on Ctrl-C). Its own
        session keeps the terminal's Ctrl-C away from it: no traceback from a half-run command."""
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=subprocess.PIPE if capture else None,
                                text=True, start_new_session=True, preexec_fn=_child_setup(signal.SIGTERM))
        out = ""
        while True:
            try:
                out, _ = proc.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if self.stop_signal is not None:
                    self._terminate_group(proc)
                    raise Stopping from None
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[1:3])} failed (exit code {proc.returncode}); see the output above.")
        return out or ""

    # --- long-running children ---------------------------------------------------------------

    def log_path(self, name: str) -> Path:
        return VAR / "log" / f"{name}.log"

    def start(self, name: str, args: list[str], death_signal: int = signal.SIGTERM) -> subprocess.Popen:
        child = Child(name, args, death_signal)
        self.children.append(child)
        self._spawn(child)
        return child.proc

    def _spawn(self, child: Child) -> None:
        with open(self.log_path(child.name), "ab") as log:
            child.proc = subprocess.Popen(child.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True, preexec_fn=_child_setup(child.death_signal))
        child.started_at = time.monotonic()
        child.restart_at = None

    def poll_once(self) -> None:
        """Restart what has exited, each after its own backoff."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is None:
                if child.restart_at is not None and now >= child.restart_at:
                    self._spawn(child)
                    say(f"{child.name} restarted (pid {child.proc.pid}).")
                continue
            code = child.proc.poll()
            if code is None:
                continue
            # Whatever the dead process left in its group (a gunicorn worker, a pool process)
            # must not hold its port or queue against the new one.
            self._kill_group(child.proc.pid, signal.SIGKILL)
            if now - child.started_at >= RESTART_STABLE_AFTER_S:
                child.restarts = 0
            child.restarts += 1
            delay = min(RESTART_MAX_DELAY_S, RESTART_FIRST_DELAY_S * 2 ** (child.restarts - 1))
            say(f"{child.name} exited with code {code}; restarting in {delay:g} s (restart {child.restarts}). "
                f"Log: {self.log_path(child.name)}")
            child.proc = None
            child.restart_at = now + delay

    def watch(self) -> None:
        """Keep every child running until a stop signal arrives (then raises Stopping)."""
        while True:
            self.sleep(0.5)
            self.poll_once()

    # --- stopping ----------------------------------------------------------------------------

    @staticmethod
    def _kill_group(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)  # each child leads its own session, so its group id is its pid
        except (ProcessLookupError, PermissionError):
            pass

    def _terminate_group(self, proc: subprocess.Popen) -> None:
        self._kill_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._kill_group(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        """Stop every child, last started first. Signals arriving now are only recorded (the
        handler never raises), so a second Ctrl-C cannot interrupt this."""
        running = [c.proc for c in reversed(self.children) if c.proc is not None]
        for proc in running:
            if proc.poll() is None:
                self._kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill_group(proc.pid, signal.SIGKILL)
                proc.wait()
            # Anything its group still holds (pool processes, gunicorn workers) goes too.
            self._kill_group(proc.pid, signal.SIGKILL)
        say("All Cothon processes stopped.")


def _wait_for_emulator(sup: Supervisor, data_dir: Path, proc: subprocess.Popen, timeout: float = 30) -> dict:
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
        sup.sleep(0.2)
    raise SystemExit(f"The Salesforce emulator did not start within 30 s; see {VAR / 'log' / 'emulator.log'}")


def _wait_for_http(sup: Supervisor, url: str, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            sup.sleep(0.3)
    raise SystemExit(f"The web server did not answer at {url}; see {VAR / 'log' / 'web.log'}")


def _connect_demo_orgs(sup: Supervisor, emulator_dir: Path) -> None:
    """Tenant 1 → the emulator's demo org, tenant 2 → its sandbox org, then the first full sync."""
    paths = {}
    for org in ("demo", "sandbox"):
        out = sup.step([PY, "-m", "salesforce_emulator", "credentials", "--data-dir", str(emulator_dir), "--org", org],
                       capture=True)
        path = VAR / f"emulator-{org}-credentials.json"
        path.write_text(out)
        path.chmod(0o600)
        paths[org] = path
    print("Connecting the demo tenants to the emulator's orgs and running the first full sync…", flush=True)
    sup.step([PY, "manage.py", "connect_demo_orgs", "--demo-credentials", str(paths["demo"]),
              "--sandbox-credentials", str(paths["sandbox"])])


def main(argv: list[str]) -> int:
    if "--stop-with-parent" in argv:
        # `make run` passes this: if make is killed, we get SIGTERM and stop everything.
        die_with_parent(signal.SIGTERM)
    env = _env()
    port = env.get("PORT", "8000")
    sup = Supervisor(env)
    sup.install_signal_handlers()
    try:
        print("Preparing the database and demo data…", flush=True)
        sup.step([PY, "manage.py", "migrate", "--noinput", "-v", "0"])
        sup.step([PY, "manage.py", "seed_demo"])
        emulator_dir = VAR / "emulator"
        emulator = sup.start("emulator", [
            PY, "-m", "salesforce_emulator", "serve", "--data-dir", str(emulator_dir),
            "--port", env.get("EMULATOR_PORT", "8443"), "--http-port", env.get("EMULATOR_HTTP_PORT", "8080"),
        ])
        emulator_info = _wait_for_emulator(sup, emulator_dir, emulator)
        _connect_demo_orgs(sup, emulator_dir)
        sup.start("smtp-catcher", [PY, str(ROOT / "scripts" / "smtp_catcher.py"), "--port", env["SMTP_CATCHER_PORT"],
                                   "--dir", env["COTHON_DEMO_OUTBOX_DIR"]])
        sup.start("web", [PY, "-m", "gunicorn", "cothon.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                          "--threads", "4", "--access-logfile", "-"])
        celery = [PY, "-m", "celery", "-A", "cothon"]
        # SIGQUIT is Celery's cold shutdown: if this script dies, a worker stops at once instead
        # of finishing its task first (the outbox re-queues whatever it had taken).
        # No prefork pool on the embedded broker: it has no event loop, so Celery falls back to
        # billiard's plain pool, whose children share one read lock on the task queue and hold it
        # while they wait idle. A child killed then (OOM, kill -9) leaves the lock taken and the
        # worker never takes a task again. A solo real-time worker and a thread pool for the
        # background one have no such lock (production's Redis broker uses the async prefork
        # pool, with a pipe per child: not affected).
        sup.start("worker-realtime", celery + ["worker", "-Q", "realtime", "-P", "solo", "-n", "realtime@%h", "-l", "info"],
                  death_signal=signal.SIGQUIT)
        sup.start("worker-default", celery + ["worker", "-Q", "default,bulk", "-P", "threads", "-c", "2", "-n", "default@%h",
                                              "-l", "info"],
                  death_signal=signal.SIGQUIT)
        sup.start("beat", celery + ["beat", "-l", "info", "--schedule", str(VAR / "celerybeat-schedule")])
        _wait_for_http(sup, f"http://127.0.0.1:{port}/healthz")

        from demo.accounts import DEMO_PASSWORD, DEMO_TENANTS

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
        print(f"  E-mail: caught by the local SMTP catcher on 127.0.0.1:{env['SMTP_CATCHER_PORT']} "
              f"(Settings › Integrations › Outbox (demo); files in {env['COTHON_DEMO_OUTBOX_DIR']})")
        print(f"  Health: http://127.0.0.1:{port}/healthz  http://127.0.0.1:{port}/readyz   Metrics: "
              f"curl -H 'Authorization: Bearer {env['COTHON_METRICS_TOKEN']}' http://127.0.0.1:{port}/metrics")
        print(f"  Logs: {VAR / 'log'}/*.log     Stop: Ctrl-C (a process that exits is restarted)")
        print("=" * 72, flush=True)
        sup.watch()
        return 0  # not reached: watch() ends with Stopping
    except Stopping:
        say(f"\nStopping ({signal.Signals(sup.stop_signal).name})…")
        return 0
    finally:
        sup.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
