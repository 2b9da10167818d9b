"""scripts/run.py's Supervisor with small real child processes (seconds, not a whole stack):
restart backoff and its reset, signal handling that never raises, a stop that takes the
children's own children too, and children that die with a SIGKILLed supervisor.
tests/test_embedded_stack.py checks the same on the real stack."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("cothon_run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "VAR", tmp_path)
    return module


def _drive(sup, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sup.poll_once()
        time.sleep(0.01)


def test_a_process_that_keeps_exiting_is_restarted_with_doubling_delays_up_to_the_cap(run, monkeypatch, capsys):
    monkeypatch.setattr(run, "RESTART_FIRST_DELAY_S", 0.1)
    monkeypatch.setattr(run, "RESTART_MAX_DELAY_S", 0.4)
    sup = run.Supervisor(dict(os.environ))
    try:
        sup.start("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
        _drive(sup, 2.5)
    finally:
        sup.stop()
    lines = [line for line in capsys.readouterr().out.splitlines() if "crasher exited" in line]
    assert lines[0].startswith("crasher exited with code 3; restarting in 0.1 s (restart 1)")
    assert lines[1].startswith("crasher exited with code 3; restarting in 0.2 s (restart 2)")
    assert lines[2].startswith("crasher exited with code 3; restarting in 0.4 s (restart 3)")
    assert lines[3].startswith("crasher exited with code 3; restarting in 0.4 s (restart 4)")  # capped


def test_a_process_that_stayed_up_a_while_starts_the_backoff_again(run, monkeypatch, capsys):
    monkeypatch.setattr(run, "RESTART_FIRST_DELAY_S", 0.1)
    monkeypatch.setattr(run, "RESTART_STABLE_AFTER_S", 0.3)
    sup = run.Supervisor(dict(os.environ))
    try:
        sup.start("slow-crasher", [sys.executable, "-c", "import time; time.sleep(0.6); raise SystemExit(1)"])
        _drive(sup, 3.0)
    finally:
        sup.stop()
    lines = [line for line in capsys.readouterr().out.splitlines() if "slow-crasher exited" in line]
    assert len(lines) >= 2
    assert all("restarting in 0.1 s (restart 1)" in line for line in lines)


def test_a_stop_signal_is_only_recorded_and_ends_the_next_sleep(run):
    sup = run.Supervisor(dict(os.environ))
    saved = {sig: signal.getsignal(sig) for sig in run.STOP_SIGNALS}
    try:
        sup.install_signal_handlers()
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt: the handler only records it
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal changes nothing
        assert sup.stop_signal == signal.SIGINT
        with pytest.raises(run.Stopping):
            sup.sleep(5)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_stop_takes_the_childrens_own_children_too(run, capsys):
    sup = run.Supervisor(dict(os.environ))
    parent = sup.start("parent", [sys.executable, "-c",
                                  "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"])
    deadline = time.monotonic() + 10
    while not psutil.Process(parent.pid).children():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    tree = [psutil.Process(parent.pid), *psutil.Process(parent.pid).children(recursive=True)]
    sup.stop()
    time.sleep(0.2)
    assert not [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert "All Cothon processes stopped." in capsys.readouterr().out


def test_children_die_when_the_supervisor_is_killed(tmp_path):
    script = (
        "import importlib.util, os, sys, time\n"
        f"spec = importlib.util.spec_from_file_location('run', {str(ROOT / 'scripts' / 'run.py')!r})\n"
        "run = importlib.util.module_from_spec(spec); sys.modules['run'] = run; spec.loader.exec_module(run)\n"
        f"run.VAR = __import__('pathlib').Path({str(tmp_path)!r})\n"
        "sup = run.Supervisor(dict(os.environ))\n"
        "sup.start('sleeper', ['sleep', '60'])\n"
        "sup.start('python', [sys.executable, '-c', 'import time; time.sleep(60)'], death_signal=run.signal.SIGQUIT)\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n")
    supervisor = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    children = []
    try:
        assert supervisor.stdout.readline().strip() == "started"
        children = psutil.Process(supervisor.pid).children()
        assert len(children) == 2
        supervisor.kill()
        supervisor.wait()
        _, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
        for p in children:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        supervisor.stdout.close()
