"""The demo as `make run` serves it: gunicorn with DEBUG off. Static files still load (WhiteNoise,
no collectstatic), error pages are the branded ones, the security headers are there, and the
OAuth callback's one-time code never reaches the access log."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _run_py_env() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("cothon_run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in run.py look their module up there
    spec.loader.exec_module(module)
    return module._env()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_environment_is_the_demo_with_debug_off(monkeypatch):
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    env = _run_py_env()
    assert env["DJANGO_DEBUG"] == "0"
    assert env["COTHON_DEMO"] == "1" and env["COTHON_ALLOW_LOOPBACK_SALESFORCE"] == "1"
    assert "cothon.gunicorn_logging.RedactingLogger" in env["GUNICORN_CMD_ARGS"]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("demo-var")
    env = _run_py_env()
    for name in ("DATABASE_URL", "REDIS_URL", "COTHON_TEST_DB_NAME", "DJANGO_DEBUG", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(DJANGO_DEBUG="0", COTHON_VAR_DIR=str(var))
    port = _free_port()
    log = open(var / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "cothon.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--access-logfile", "-"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/accounts/login/", timeout=15)
            break
        except requests.RequestException:
            if proc.poll() is not None:
                raise RuntimeError((var / "gunicorn.log").read_text())
            time.sleep(0.3)
    yield base, var / "gunicorn.log"
    proc.terminate()
    proc.wait(10)
    log.close()


def test_static_files_load_with_debug_off(demo_server):
    base, _ = demo_server
    html = requests.get(f"{base}/accounts/login/", timeout=10).text
    for asset, kind in (("/static/cothon/css/app.css", "text/css"), ("/static/cothon/js/app.js", "javascript"),
                        ("/static/cothon/js/htmx.min.js", "javascript"), ("/static/cothon/js/js-flag.js", "javascript")):
        assert asset in html or asset.endswith(("app.js", "htmx.min.js")), asset
        response = requests.get(base + asset, timeout=10)
        assert response.status_code == 200 and kind in response.headers["Content-Type"], asset
    sidecar = requests.get(f"{base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", timeout=10)
    assert sidecar.status_code == 200 and len(sidecar.content) > 100_000


def test_an_unknown_page_is_the_branded_404_without_url_patterns(demo_server):
    base, _ = demo_server
    response = requests.get(f"{base}/opportunities/999999/nope", timeout=10)
    assert response.status_code == 404
    assert "We couldn’t find that page" in response.text
    assert "URLconf" not in response.text and "api/v1/" not in response.text and "Traceback" not in response.text


def test_api_docs_are_served_from_pinned_local_copies(demo_server):
    base, _ = demo_server
    for path, asset in (("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
                        ("/api/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")):
        html = requests.get(base + path, timeout=10).text
        assert f"/static/{asset}" in html, path
        assert "cdn.jsdelivr" not in html and "@latest" not in html and "fonts.googleapis" not in html
        assert "<script>" not in html  # no inline script: the CSP would block it
        assert requests.get(f"{base}/static/{asset}", timeout=10).status_code == 200
    script = requests.get(f"{base}/api/docs/?script=", timeout=10)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text


def test_security_headers_on_every_page(demo_server):
    base, _ = demo_server
    response = requests.get(f"{base}/accounts/login/", timeout=10)
    csp = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-eval'" not in csp and directives["frame-ancestors"] == ["'none'"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    # Plain HTTP (the demo): no HSTS, cookies not Secure (they would never come back).
    assert "Strict-Transport-Security" not in response.headers
    assert "secure" not in response.headers.get("Set-Cookie", "").lower()


def test_the_oauth_code_never_reaches_the_access_log(demo_server):
    base, log = demo_server
    requests.get(f"{base}/settings/integrations/salesforce/oauth/callback/?code=aPrxONE-TIME-CODE%3D%3D&state=STATE-XYZ", timeout=10)
    requests.get(f"{base}/accounts/login/?next=/x&token=TOKEN-IN-URL", timeout=10)
    time.sleep(0.5)
    text = log.read_text()
    assert "/settings/integrations/salesforce/oauth/callback/?code=[redacted]&state=[redacted]" in text
    assert "ONE-TIME-CODE" not in text and "STATE-XYZ" not in text and "TOKEN-IN-URL" not in text
    assert "next=/x" in text  # other parameters are kept


def test_over_https_cookies_are_secure_and_hsts_is_sent(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG",)}
    env.update(COTHON_HTTPS="1", DJANGO_SETTINGS_MODULE="cothon.settings", COTHON_DEMO="1", COTHON_VAR_DIR=str(tmp_path))
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "31536000", "True", "('HTTP_X_FORWARDED_PROTO',", "'https')"], out.stderr
    env.pop("COTHON_HTTPS")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split()[:2] == ["False", "False"], out.stderr
