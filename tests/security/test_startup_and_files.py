"""Outside the demo, Cothon refuses to start without its keys; the demo keeps working and keeps
its secrets and data owner-only; docker-compose gives every service the same keys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from integrations import crypto

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ONLY = ("COTHON_DEMO", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "COTHON_ENCRYPTION_KEYS", "DATABASE_URL",
                   "REDIS_URL", "COTHON_TEST_DB_NAME", "SQLITE_PATH", "COTHON_MEDIA_ROOT", "COTHON_HTTPS",
                   "COTHON_SECURE_COOKIES", "COTHON_BEHIND_TLS_PROXY")


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ONLY}
    env.update(DJANGO_SETTINGS_MODULE="cothon.settings", COTHON_VAR_DIR=str(var_dir))
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_without_keys_and_debug_off_manage_py_refuses_to_start(tmp_path):
    result = _run(["manage.py", "check"], _env(tmp_path))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY and COTHON_ENCRYPTION_KEYS must be set" in result.stderr
    # Nothing was generated: a production process must not invent its own keys.
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "encryption_key").exists()


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "COTHON_ENCRYPTION_KEYS"])
def test_each_key_alone_is_not_enough(tmp_path, missing):
    keys = {"DJANGO_SECRET_KEY": "x" * 50, "COTHON_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    keys.pop(missing)
    result = _run(["-c", "import django; django.setup()"], _env(tmp_path, **keys))
    assert result.returncode != 0 and f"{missing} must be set" in result.stderr


def test_the_wsgi_app_and_celery_refuse_too(tmp_path):
    for code in ("import cothon.wsgi", "from cothon.celery import app; app.loader.import_default_modules()"):
        result = _run(["-c", code], _env(tmp_path))
        assert result.returncode != 0 and "COTHON_ENCRYPTION_KEYS" in result.stderr, code


def test_with_both_keys_it_starts_and_generates_nothing(tmp_path):
    env = _env(tmp_path, DJANGO_SECRET_KEY="s" * 50, COTHON_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    result = _run(["manage.py", "check"], env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_the_demo_generates_keys_and_keeps_var_private(tmp_path):
    var = tmp_path / "var"
    env = _env(var, COTHON_DEMO="1")
    script = ("import django; django.setup(); from integrations.crypto import encrypt_token; encrypt_token('x');"
              "from django.core.management import call_command; call_command('migrate', '--noinput', '-v', '0');"
              "from django.core.files.storage import default_storage; from django.core.files.base import ContentFile;"
              "default_storage.save('proposals/doc.pdf', ContentFile(b'%PDF'))")
    result = _run(["-c", script], env)
    assert result.returncode == 0, result.stderr

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(var) == 0o700
    for name in ("secret_key", "encryption_key", "cothon.sqlite3"):
        assert mode(var / name) == 0o600, name
    for wal in var.glob("cothon.sqlite3-*"):
        assert mode(wal) & 0o077 == 0, wal.name
    assert mode(var / "media") == 0o700 and mode(var / "media" / "proposals") == 0o700
    assert mode(var / "media" / "proposals" / "doc.pdf") == 0o600
    for folder in ("broker", "broker/queue", "broker/processed", "broker/control"):
        assert mode(var / folder) == 0o700, folder
    # The same keys on the next start (sessions and stored tokens survive a restart).
    secret = (var / "secret_key").read_text()
    assert _run(["-c", "import django; django.setup()"], env).returncode == 0
    assert (var / "secret_key").read_text() == secret


def test_a_loose_existing_key_file_is_tightened(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "secret_key").write_text("k" * 50)
    (var / "secret_key").chmod(0o644)
    assert _run(["-c", "import django; django.setup()"], _env(var, COTHON_DEMO="1")).returncode == 0
    assert stat.S_IMODE((var / "secret_key").stat().st_mode) == 0o600
    assert stat.S_IMODE(var.stat().st_mode) == 0o700


def test_crypto_refuses_to_invent_a_key_when_keys_are_required(settings):
    settings.COTHON_ENCRYPTION_KEYS = []
    settings.COTHON_REQUIRE_ENCRYPTION_KEYS = False
    crypto.reset_key_cache()
    try:
        assert crypto.decrypt_token(crypto.encrypt_token("t")) == "t"  # demo: generated key
        settings.COTHON_REQUIRE_ENCRYPTION_KEYS = True
        crypto.reset_key_cache()
        with pytest.raises(ImproperlyConfigured, match="COTHON_ENCRYPTION_KEYS must be set"):
            crypto.encrypt_token("t")
    finally:
        crypto.reset_key_cache()


def test_settings_define_what_crypto_reads():
    from django.conf import settings

    # The bug: crypto read COTHON_REQUIRE_ENCRYPTION_KEYS, which settings never defined.
    assert hasattr(settings, "COTHON_REQUIRE_ENCRYPTION_KEYS")


def test_docker_compose_gives_every_service_both_keys():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    app_services = {name: svc for name, svc in compose["services"].items() if name not in ("db", "redis")}
    assert {"migrate", "web", "worker-realtime", "worker-default", "beat"} <= set(app_services)
    for name, svc in app_services.items():
        environment = svc["environment"]
        for key in ("DJANGO_SECRET_KEY", "COTHON_ENCRYPTION_KEYS"):
            # ${KEY:?…}: compose itself refuses to start a service without it.
            assert str(environment.get(key, "")).startswith("${" + key + ":?"), (name, key)
        assert environment.get("DJANGO_DEBUG") in ("0", None) and "COTHON_DEMO" not in environment, name
