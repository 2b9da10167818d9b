"""Fixtures shared by the black-box client tests (jsforce 3 and the `sf` CLI, both from npm).

The test modules import the fixtures from here (``from tests.emulator.conftest_clients import
...``). Expensive work is cached per process, so the npm install, the emulator view and the
access token are made once per test session even though two modules import the fixtures.

The emulator comes from the ``emulator`` session fixture of ``tests/emulator_process.py`` (one
emulator subprocess for the whole run). To run these tests against an emulator you started
yourself (``python -m salesforce_emulator serve --data-dir DIR``), set ``EMU_DATA_DIR=DIR``.
"""

from __future__ import annotations

import functools
import html.parser
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CLIENTS_DIR = REPO / "tests" / "clients"
DEMO_ORG = "demo"
API = "v59.0"  # what the Python side uses to check results; the clients use their own versions


# --------------------------------------------------------------------------- client tools


@dataclass(frozen=True)
class ClientTools:
    node22: str
    sf: str
    clients_dir: Path


@functools.cache
def _install_client_tools() -> ClientTools:
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(CLIENTS_DIR / "install.sh")],
        capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tests/clients/install.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    values = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    sys.stderr.write(f"[client tools] {proc.stderr.strip().splitlines()[-1]} "
                     f"({time.monotonic() - started:.1f} s)\n")
    return ClientTools(node22=values["NODE22"], sf=values["SF"], clients_dir=CLIENTS_DIR)


@pytest.fixture(scope="session")
def client_tools() -> ClientTools:
    """tests/clients/install.sh, once per session: jsforce, the sf CLI and Node 22 from npm."""
    try:
        return _install_client_tools()
    except (RuntimeError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
        pytest.fail(f"cannot install the npm client tools: {exc}")


# --------------------------------------------------------------------------- the emulator


@dataclass
class OrgAccess:
    """The demo org as the clients see it, acting as its admin user."""

    instance_url: str            # https://127.0.0.1:<port>, as token responses give it
    login_url: str               # jsforce loginUrl: the HTTPS URL (the HTTP one works too)
    http_login_url: str          # the loopback HTTP login URL the product's OAuth uses
    ca_bundle: str               # the emulator's CA, for NODE_EXTRA_CA_CERTS / requests verify
    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    redirect_uri: str
    org_id: str
    user_id: str
    access_token: str            # minted through the emulator's hook for the admin user
    client: Any = field(default=None, repr=False)  # salesforce_emulator.client.EmulatorClient

    def rest(self) -> "Rest":
        return Rest(self)


def org_access(client: Any, creds: dict[str, Any]) -> OrgAccess:
    admin = creds["admin"]
    token = client.mint_token(creds["org"], admin["username"])["access_token"]
    return OrgAccess(
        instance_url=creds["instance_url"].rstrip("/"),
        login_url=creds["instance_url"].rstrip("/"),
        http_login_url=creds["login_url"].rstrip("/"),
        ca_bundle=creds["ca_bundle"] or client.ca_bundle,
        username=admin["username"],
        password=admin["password"],
        security_token=admin["security_token"],
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        # the sf CLI's own callback, registered on the demo connected app; nobody listens there
        redirect_uri="http://localhost:1717/OauthRedirect",
        org_id=creds["org_id"],
        user_id=admin["id"],
        access_token=token,
        client=client,
    )


@pytest.fixture(scope="session")
def emu_org(request) -> OrgAccess:
    """The demo org of the session's emulator (``emulator`` fixture of tests/emulator_process.py),
    or of the emulator whose data dir is in EMU_DATA_DIR."""
    data_dir = os.environ.get("EMU_DATA_DIR")
    if data_dir:
        from salesforce_emulator.client import EmulatorClient

        client = EmulatorClient.from_data_dir(data_dir)
        creds = client.credentials(DEMO_ORG)
    else:
        handle = request.getfixturevalue("emulator")
        client, creds = handle.client, handle.creds(DEMO_ORG)
    return org_access(client, creds)


@pytest.fixture(scope="module")
def fresh_demo_org(emu_org: OrgAccess) -> OrgAccess:
    """The demo org back to its seeded state once per test module (API usage too), so the
    client tests start from a known org whatever ran before. Never done to an emulator given
    by EMU_DATA_DIR: that may be someone's `make run` demo."""
    if not os.environ.get("EMU_DATA_DIR"):
        emu_org.client.reset(DEMO_ORG)
    return emu_org


# --------------------------------------------------------------------------- checking from Python


class Rest:
    """Plain requests against the emulator's REST API: how the tests check what a client did."""

    def __init__(self, org: OrgAccess):
        self.org = org
        self.session = requests.Session()
        self.session.trust_env = False  # an exported REQUESTS_CA_BUNDLE would override verify
        self.session.verify = org.ca_bundle
        self.session.headers["Authorization"] = f"Bearer {org.access_token}"
        self.base = f"{org.instance_url}/services/data/{API}"

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kw)

    def record(self, sobject: str, record_id: str) -> requests.Response:
        return self.get(f"/sobjects/{sobject}/{record_id}")

    def query(self, soql: str) -> dict[str, Any]:
        resp = self.get("/query", params={"q": soql})
        assert resp.status_code == 200, f"{soql}: {resp.status_code} {resp.text[:500]}"
        return resp.json()

    def count(self, soql: str) -> int:
        return self.query(soql)["totalSize"]

    def ids(self, soql: str) -> list[str]:
        out, page = [], self.query(soql)
        while True:
            out += [r["Id"] for r in page["records"]]
            if page.get("done", True):
                return out
            resp = self.session.get(self.org.instance_url + page["nextRecordsUrl"], timeout=30)
            assert resp.status_code == 200, resp.text[:500]
            page = resp.json()

    def delete_ids(self, ids: list[str]) -> None:
        """Best-effort cleanup through sObject Collections (200 ids a request)."""
        for start in range(0, len(ids), 200):
            chunk = ids[start:start + 200]
            try:
                self.session.delete(f"{self.base}/composite/sobjects",
                                    params={"ids": ",".join(chunk), "allOrNone": "false"}, timeout=60)
            except requests.RequestException:
                return

    def delete_where(self, soql: str) -> None:
        try:
            self.delete_ids(self.ids(soql))
        except AssertionError:
            pass


@pytest.fixture(scope="session")
def rest(emu_org: OrgAccess) -> Rest:
    return emu_org.rest()


# --------------------------------------------------------------------------- running node


@dataclass
class NodeResult:
    returncode: int
    payload: dict[str, Any]
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.payload.get("ok") is True

    @property
    def result(self) -> Any:
        assert self.ok, f"client failed (rc={self.returncode}): {self.describe()}"
        return self.payload["result"]

    @property
    def error(self) -> dict[str, Any]:
        assert not self.ok, f"client unexpectedly succeeded: {self.payload}"
        return self.payload.get("error") or {}

    def describe(self) -> str:
        return f"{json.dumps(self.payload)[:3000]}\nstderr:\n{self.stderr[-3000:]}"


def last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def client_env(tools: ClientTools, org: OrgAccess, home: Path, **extra: str) -> dict[str, str]:
    """Environment of a client process: the emulator's CA, Node 22 first on PATH, isolated HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SF_", "SFDX_", "NODE_", "npm_", "REQUESTS_CA", "EMU_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        PATH=f"{Path(tools.node22).parent}{os.pathsep}{CLIENTS_DIR / 'node_modules' / '.bin'}"
             f"{os.pathsep}{os.environ.get('PATH', '')}",
        NODE_EXTRA_CA_CERTS=org.ca_bundle,
        SF_DISABLE_DNS_CHECK="true",
        SF_USE_GENERIC_UNIX_KEYCHAIN="true",
        SF_AUTOUPDATE_DISABLE="true",
        SF_DISABLE_TELEMETRY="true",
        SF_SKIP_NEW_VERSION_CHECK="true",
        SF_DISABLE_AUTOUPDATE="true",
        SF_CONTAINER_MODE="false",
        NO_COLOR="1",
        FORCE_COLOR="0",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def client_home(tmp_path_factory) -> Path:
    """An isolated HOME for client processes: the CLI's auth files never touch the user's."""
    home = tmp_path_factory.mktemp("client-home")
    (home / ".config").mkdir()
    return home


@pytest.fixture(scope="session")
def run_js(client_tools: ClientTools, emu_org: OrgAccess, client_home: Path):
    """run_js("script.mjs", *argv, login=False, env={...}, timeout=...) -> NodeResult."""

    def run(script: str, *argv: str, login: bool = False, env: dict[str, str] | None = None,
            timeout: float = 120) -> NodeResult:
        proc_env = client_env(client_tools, emu_org, client_home, **js_env(emu_org, login=login))
        proc_env.update(env or {})
        proc = subprocess.run(
            [client_tools.node22, str(CLIENTS_DIR / script), *argv],
            capture_output=True, text=True, env=proc_env, cwd=CLIENTS_DIR, timeout=timeout,
        )
        return NodeResult(proc.returncode, last_json_line(proc.stdout), proc.stdout, proc.stderr)

    return run


def js_env(org: OrgAccess, *, login: bool = False) -> dict[str, str]:
    if login:
        return {
            "EMU_LOGIN_URL": org.login_url,
            "EMU_USERNAME": org.username,
            "EMU_PASSWORD": org.password,
            "EMU_SECURITY_TOKEN": org.security_token,
            "EMU_CLIENT_ID": org.client_id,
            "EMU_CLIENT_SECRET": org.client_secret,
            "EMU_REDIRECT_URI": org.redirect_uri,
        }
    return {"EMU_INSTANCE_URL": org.instance_url, "EMU_ACCESS_TOKEN": org.access_token}


# --------------------------------------------------------------------------- a tiny browser


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "inputs": []}
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None:
            self._form["inputs"].append({"tag": tag, **a})

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def browser_authorize(authorization_url: str, org: OrgAccess, redirect_uri: str, *,
                      verify: str, max_steps: int = 5) -> str:
    """Follows the emulator's authorize pages as a user would (log in, allow) and returns the
    redirect to the client's callback URL (which nobody listens on), with code and state."""
    session = requests.Session()
    session.trust_env = False
    session.verify = verify
    resp = session.get(authorization_url, allow_redirects=False, timeout=30)
    for _ in range(max_steps):
        location = resp.headers.get("Location", "")
        if resp.is_redirect and location.startswith(redirect_uri):
            return location
        if resp.is_redirect:
            resp = session.get(urllib.parse.urljoin(resp.url, location), allow_redirects=False, timeout=30)
            continue
        assert resp.status_code == 200, f"authorize page: {resp.status_code} {resp.text[:500]}"
        parser = _FormParser()
        parser.feed(resp.text)
        forms = [f for f in parser.forms if f["method"] == "post"] or parser.forms
        assert forms, f"no form on the authorize page:\n{resp.text[:1000]}"
        form = forms[0]
        data: dict[str, str] = {}
        for field_ in form["inputs"]:
            name, kind = field_.get("name"), field_.get("type", "text").lower()
            if not name:
                continue
            if kind == "password" or re.search(r"pass", name, re.I):
                data[name] = org.password
            elif re.search(r"user|email|login", name, re.I) and kind not in ("hidden", "submit"):
                data[name] = org.username
            elif kind in ("hidden", "checkbox") or (field_["tag"] == "input" and kind == "text"):
                data[name] = field_.get("value", "")
            elif kind == "submit" or field_["tag"] == "button":
                # the approving button of a consent page ("Allow"), not "Deny"
                if not re.search(r"deny|cancel", f"{name} {field_.get('value', '')}", re.I):
                    data.setdefault(name, field_.get("value", ""))
        action = urllib.parse.urljoin(resp.url, form["action"] or resp.url)
        resp = session.post(action, data=data, allow_redirects=False, timeout=30)
    raise AssertionError(f"authorize flow did not reach {redirect_uri}: {resp.status_code} {resp.text[:500]}")
