"""Gunicorn's access log without one-time secrets.

The OAuth callback's URL carries the authorization `code` (and `state`); anyone who reads the
access log within the code's lifetime could redeem it. Every gunicorn started by `make run`,
the Dockerfile and docker-compose uses this logger (`--logger-class
cothon.gunicorn_logging.RedactingLogger`, via GUNICORN_CMD_ARGS)."""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

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


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001 - gunicorn's signature
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
