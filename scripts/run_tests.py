"""Run the test suite on the best backend this machine has, and say which.

PostgreSQL and Redis are used when reachable (DATABASE_URL / REDIS_URL, or the defaults
127.0.0.1:5432 and 127.0.0.1:6379); otherwise SQLite and the embedded broker.
"""

from __future__ import annotations

import os
import socket
import sys

import pytest


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def choose_backend(env: dict[str, str]) -> list[str]:
    """COTHON_TEST_BACKEND=embedded forces SQLite + the filesystem broker even when PostgreSQL
    and Redis are running (to check the embedded stack on a machine that has both)."""
    notes = []
    embedded = env.get("COTHON_TEST_BACKEND") == "embedded"
    if not env.get("DATABASE_URL"):
        if _reachable("127.0.0.1", 5432) and not embedded:
            env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
            # A name per run, so parallel runs on one server never collide.
            env.setdefault("COTHON_TEST_DB_NAME", f"test_cothon_{os.getpid()}")
            notes.append(f"PostgreSQL at 127.0.0.1:5432 (test database {env['COTHON_TEST_DB_NAME']})")
        else:
            test_dir = os.path.join(os.getcwd(), "var", "test")
            os.makedirs(test_dir, exist_ok=True)
            env.setdefault("COTHON_TEST_DB_NAME", os.path.join(test_dir, f"test_cothon_{os.getpid()}.sqlite3"))
            notes.append("SQLite (COTHON_TEST_BACKEND=embedded)" if embedded else "SQLite (PostgreSQL not reachable at 127.0.0.1:5432)")
    else:
        notes.append(f"DATABASE_URL from the environment ({env['DATABASE_URL'].split('@')[-1]})")
    if not env.get("REDIS_URL"):
        if _reachable("127.0.0.1", 6379) and not embedded:
            env["REDIS_URL"] = "redis://127.0.0.1:6379/15"
            env.setdefault("COTHON_REDIS_KEY_PREFIX", f"cothon-test-{os.getpid()}")
            notes.append("Redis at 127.0.0.1:6379 db 15")
        else:
            notes.append("no Redis (embedded filesystem broker, local-memory cache)")
    else:
        notes.append("REDIS_URL from the environment")
    return notes


def main(argv: list[str]) -> int:
    embedded_requested = os.environ.get("COTHON_TEST_BACKEND") == "embedded"
    base_env = dict(os.environ)
    notes = choose_backend(os.environ)  # type: ignore[arg-type]
    os.environ.setdefault("COTHON_VAR_DIR", os.path.join(os.getcwd(), "var", "test"))
    print("Test backend: " + "; ".join(notes), flush=True)
    # Decided before the run: tests may change os.environ while they run.
    second_pass = not (argv or embedded_requested or "DATABASE_URL" in base_env or not os.environ.get("DATABASE_URL"))
    code = pytest.main(argv)
    if not second_pass:
        return int(code)
    # The whole suite ran on PostgreSQL + Redis: the chaos suite and the API fuzzer run once more
    # on the embedded stack (SQLite + the filesystem broker), which `make run` uses.
    import subprocess

    env = {k: v for k, v in base_env.items() if k not in ("COTHON_TEST_DB_NAME", "REDIS_URL", "COTHON_REDIS_KEY_PREFIX")}
    env["COTHON_TEST_BACKEND"] = "embedded"
    print("\nChaos suite and API fuzzer again on the embedded stack (SQLite + filesystem broker):", flush=True)
    chaos = subprocess.run([sys.executable, os.path.abspath(__file__), "tests/chaos", "tests/api/test_schemathesis.py",
                            "-p", "no:cacheprovider"], env=env)
    return int(code) or chaos.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
