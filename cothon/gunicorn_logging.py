"""Gunicorn's access log without one-time secrets, and in JSON with COTHON_LOG_FORMAT=json.

The OAuth callback's URL carries the authorization `code` (and `state`); anyone who reads the
access log within the code's lifetime could redeem it. Every gunicorn started by `make run`,
the Dockerfile and docker-compose uses this logger (`--logger-class
cothon.gunicorn_logging.RedactingLogger`, via GUNICORN_CMD_ARGS).

With COTHON_LOG_FORMAT=json (read from the environment: gunicorn's master loads no Django
settings) its error and access logs are JSON lines like the app's (cothon/logs.py); an access
line carries the request's fields and the X-Request-ID the app answered with."""

from __future__ import annotations

import os
import re
import traceback

from gunicorn.glogging import Logger

from cothon.logs import JsonFormatter

SENSITIVE_PARAMS = ("code", "state", "token", "access_token", "refresh_token", "password", "client_secret")
# A parameter starts after ?, & or ; — also percent-encoded, as when the whole callback URL is
# itself a parameter (the login page's ?next=… for a signed-out browser).
_SEP = r"(?:[?&;]|%3F|%26|%253F|%2526)"
_EQ = r"(?:=|%3D|%253D)"
_PARAM = re.compile(
    r"(?P<lead>^|" + _SEP + r")(?P<key>" + "|".join(SENSITIVE_PARAMS) + r")(?P<eq>" + _EQ + r")"
    r"(?P<value>(?:(?!%26|%2526)[^&;\s\"])*)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`/cb?code=abc&state=x` → `/cb?code=[redacted]&state=[redacted]`."""
    return _PARAM.sub(lambda m: f"{m.group('lead')}{m.group('key')}{m.group('eq')}[redacted]", text)


def json_enabled() -> bool:
    return os.environ.get("COTHON_LOG_FORMAT", "").strip().lower() == "json"


def _number(value: object) -> int | None:
    return int(value) if str(value).isdigit() else None


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001 - gunicorn's signature
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms

    def setup(self, cfg) -> None:  # noqa: ANN001 - gunicorn's signature
        super().setup(cfg)
        if json_enabled():
            for handler in [*self.error_log.handlers, *self.access_log.handlers]:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:  # noqa: ANN001 - gunicorn's signature
        if not json_enabled():
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        atoms = self.atoms(resp, req, environ, request_time)  # redacted, as the text line
        fields = {
            "method": atoms.get("m"), "path": atoms.get("U"), "query": atoms.get("q") or "", "status": _number(atoms.get("s")),
            "bytes": _number(atoms.get("B")) or 0, "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote_addr": atoms.get("h"), "user_agent": atoms.get("a"), "referer": atoms.get("f"),
            "request_id": atoms.get("{x-request-id}o") or "",
        }
        try:
            self.access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields)
        except Exception:  # noqa: BLE001 - gunicorn's own access() does the same
            self.error(traceback.format_exc())
        return None
