"""A tiny helper for tests and scripts: read a running emulator's runtime.json and admin key,
call the /_emulator/ hooks. The Cothon app never imports this."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests


class EmulatorNotRunning(RuntimeError):
    pass


class EmulatorClient:
    def __init__(self, http_url: str, admin_key: str, instance_url: str = "",
                 ca_bundle: str = "", data_dir: str = ""):
        self.http_url = http_url.rstrip("/")
        self.admin_key = admin_key
        self.instance_url = instance_url
        self.ca_bundle = ca_bundle
        self.data_dir = data_dir
        self.session = requests.Session()
        self.session.headers["X-Emulator-Key"] = admin_key

    @classmethod
    def from_data_dir(cls, data_dir: str | Path) -> "EmulatorClient":
        data_dir = Path(data_dir)
        runtime = data_dir / "runtime.json"
        if not runtime.exists():
            raise EmulatorNotRunning(f"no emulator runtime.json in {data_dir}; start it with "
                                     "`python -m salesforce_emulator serve`")
        info = json.loads(runtime.read_text())
        client = cls(info["http_url"], (data_dir / "admin_key").read_text().strip(),
                     info["instance_url"], info["ca_bundle"], str(data_dir))
        try:
            client.health()
        except requests.RequestException as exc:
            raise EmulatorNotRunning(f"the emulator at {info['http_url']} does not answer: "
                                     f"{exc}") from None
        return client

    # -- plumbing ------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.http_url}/_emulator/{path}",
                                        timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return requests.get(f"{self.http_url}/_emulator/health", timeout=5).json()

    # -- credentials ---------------------------------------------------------------------
    def orgs(self) -> list[dict[str, Any]]:
        return self._call("GET", "orgs")

    def mint_token(self, org: str | None = None, username: str | None = None,
                   seconds: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"org": org} if org else {}
        if username:
            body["username"] = username
        if seconds:
            body["seconds"] = seconds
        return self._call("POST", "tokens", json=body)

    def credentials(self, org: str | None = None) -> dict[str, Any]:
        """One org's credentials: instance/login URLs, a fresh integration-user token, ..."""
        orgs = self.orgs()
        summary = next((o for o in orgs if o["org"] == (org or orgs[0]["org"])), None)
        if summary is None:
            raise KeyError(org)
        integration = next((u for u in summary["users"] if u["profile"] != "System Administrator"),
                           summary["users"][0])
        token = self.mint_token(summary["org"], integration["username"])
        return {
            "org": summary["org"], "instance_url": summary["instance_url"],
            "login_url": summary["login_url"], "http_url": summary["http_url"],
            "access_token": token["access_token"], "username": integration["username"],
            "password": integration["password"],
            "security_token": integration["security_token"], "user_id": integration["id"],
            "client_id": summary["client_id"], "client_secret": summary["client_secret"],
            "ca_bundle": self.ca_bundle, "org_id": summary["org_id"],
            "is_sandbox": summary["is_sandbox"], "password_grant": summary["password_grant"],
            "admin": summary["admin"], "users": summary["users"], "admin_key": self.admin_key,
            "data_dir": self.data_dir,
        }

    # -- hooks ---------------------------------------------------------------------------
    def reset(self, org: str | None = None) -> Any:
        return self._call("POST", "reset", json={"org": org} if org else {})

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        return self._call("POST", "faults", json=rule)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")

    def clear_faults(self) -> Any:
        return self._call("DELETE", "faults")

    def limits(self, org: str | None = None) -> dict[str, Any]:
        return self._call("GET", "limits", params={"org": org} if org else None)

    def set_limits(self, org: str | None = None, **values: Any) -> dict[str, Any]:
        """allowance, used (+ used_minutes_ago), window ("rolling"|"fixed"), reset_hour_utc,
        reset_time_utc ("HH:MM"), reset_usage (true), age_minutes: see docs/salesforce-emulator.md."""
        return self._call("POST", "limits", json={"org": org, **values} if org else values)

    def exhaust_api(self, org: str | None = None, minutes_ago: int = 0) -> dict[str, Any]:
        """Use up the org's whole allowance (the calls dated `minutes_ago` minutes back): the
        next API request is refused with REQUEST_LIMIT_EXCEEDED."""
        allowance = self.limits(org)["allowance"]
        return self.set_limits(org, used=allowance, used_minutes_ago=minutes_ago)

    def reset_api_usage(self, org: str | None = None) -> dict[str, Any]:
        """The usage reset: the fixed window's daily reset, or the rolling window moving past
        every counted call; the clock (and so every session) is left alone."""
        return self.set_limits(org, reset_usage=True)

    def age_api_usage(self, minutes: int, org: str | None = None) -> dict[str, Any]:
        """Let `minutes` pass for the allowance only: calls older than the window (rolling) or
        made before the daily reset (fixed) stop counting; sessions are untouched."""
        return self.set_limits(org, age_minutes=minutes)

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "clock")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "clock", json={"advance_seconds": seconds})

    def set_clock(self, iso: str) -> dict[str, Any]:
        return self._call("POST", "clock", json={"set": iso})

    def reset_clock(self) -> dict[str, Any]:
        return self._call("POST", "clock", json={"reset": True})

    def expire_token(self, token: str) -> Any:
        return self._call("POST", "tokens/expire", json={"token": token})

    def expire_all_tokens(self, org: str | None = None) -> Any:
        return self._call("POST", "tokens/expire", json={"org": org} if org else {})

    def revoke_token(self, token: str) -> Any:
        return self._call("POST", "tokens/revoke", json={"token": token})

    def counters(self, org: str | None = None) -> dict[str, Any]:
        return self._call("GET", "counters", params={"org": org} if org else None)

    def reset_counters(self) -> Any:
        return self._call("DELETE", "counters")

    def records(self, org: str, sobject: str, include_deleted: bool = False
                ) -> list[dict[str, Any]]:
        params = {"include_deleted": "1"} if include_deleted else None
        return self._call("GET", f"records/{org}/{sobject}", params=params)["records"]

    def submit_for_approval(self, record_id: str, org: str | None = None,
                            comment: str = "") -> dict[str, Any]:
        """Lock a record as an approval process does: non-admin writes get ENTITY_IS_LOCKED."""
        body: dict[str, Any] = {"id": record_id, "comment": comment}
        if org:
            body["org"] = org
        return self._call("POST", "approvals", json=body)

    def recall_approval(self, record_id: str, org: str | None = None) -> Any:
        return self._call("DELETE", f"approvals/{record_id}", params={"org": org} if org else None)

    def approvals(self, org: str | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "approvals", params={"org": org} if org else None)["locked"]

    def edition(self, org: str | None = None) -> dict[str, Any]:
        return self._call("GET", "edition", params={"org": org} if org else None)

    def set_edition(self, edition: str, org: str | None = None) -> dict[str, Any]:
        """The org's OrganizationType, e.g. "Essentials Edition" (reset restores the
        definition's)."""
        body: dict[str, Any] = {"edition": edition}
        if org:
            body["org"] = org
        return self._call("POST", "edition", json=body)

    def settings(self, **values: Any) -> Any:
        return self._call("POST", "settings", json=values)
