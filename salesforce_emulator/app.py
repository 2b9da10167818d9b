"""The WSGI application: routing, authentication, API accounting, faults and the headers
every response carries (`Sforce-Limit-Info`).

Endpoint modules register routes on `Router`; follow-up modules (bulk2, tooling, outbound)
only need a `register(router)` function and an entry in EXTENSIONS.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from .dml import DmlError
from .errors import RequestError, SfError
from .http import Call, dml_error_response, error_response, json_response

CORE_MODULES = ("rest_misc", "rest_sobjects", "rest_collections", "rest_composite",
                "rest_query", "rest_search", "rest_auth", "viewer", "hooks")
EXTENSIONS = ("bulk2", "tooling", "outbound")  # optional follow-up modules

MIN_VERSION, MAX_VERSION = 20, 64


@dataclass
class Endpoint:
    handler: Callable[..., Response]
    auth: str  # "session" (REST API, counted), "none", "hook"
    operation: str  # for faults/counters: create, read, update, ...
    name: str


class Router:
    def __init__(self) -> None:
        self.map = Map(strict_slashes=False, merge_slashes=False)
        self.endpoints: dict[str, Endpoint] = {}
        self.extensions: list[Any] = []  # loaded EXTENSIONS modules

    def add(self, rule: str, methods: list[str], handler: Callable[..., Response], *,
            auth: str = "session", operation: str = "any", name: str | None = None) -> None:
        key = name or f"{handler.__module__}.{handler.__name__}:{rule}:{','.join(methods)}"
        self.endpoints[key] = Endpoint(handler, auth, operation, rule)
        self.map.add(Rule(rule, methods=methods, endpoint=key))


def build_router() -> Router:
    router = Router()
    for mod in CORE_MODULES:
        importlib.import_module(f"salesforce_emulator.{mod}").register(router)
    for mod in EXTENSIONS:
        try:
            module = importlib.import_module(f"salesforce_emulator.{mod}")
        except ModuleNotFoundError as exc:
            if exc.name != f"salesforce_emulator.{mod}":
                raise
            continue
        module.register(router)
        router.extensions.append(module)
    return router


def _bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    for prefix in ("Bearer ", "OAuth "):
        if header.startswith(prefix):
            return header[len(prefix):].strip()
    return request.headers.get("X-SFDC-Session") or None


INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


class EmulatorApp:
    def __init__(self, emu: Any):
        self.emu = emu
        self.router = build_router()
        _APPS[id(emu)] = self
        # Extensions may restore state (Tooling metadata, Bulk jobs, outbound rules).
        for module in self.router.extensions:
            if hasattr(module, "attach"):
                module.attach(emu)

    def start_workers(self) -> None:
        """Background workers of extensions (outbound delivery); the server calls this."""
        for module in self.router.extensions:
            if hasattr(module, "start"):
                module.start(self.emu)

    def stop_workers(self) -> None:
        for module in self.router.extensions:
            if hasattr(module, "stop"):
                module.stop(self.emu)

    def on_reset(self, org: str | None) -> None:
        """After /_emulator/reset: extensions return to the org definition's state."""
        for module in self.router.extensions:
            if hasattr(module, "reset"):
                module.reset(self.emu, org)

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        call = Call(emu=self.emu, request=request)
        try:
            response = self.handle(call, environ)
        except _Drop:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    import socket
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            response = Response(b"", status=500)
        rt = call.rt or self.emu.orgs[self.emu.default_org]
        used = rt.usage.used()
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{rt.usage.allowance}"
        return response(environ, start_response)

    def handle(self, call: Call, environ: dict) -> Response:
        request = call.request
        path = request.path
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        adapter = self.router.map.bind("emulator")
        try:
            key, args = adapter.match(path, method=request.method)
        except NotFound:
            return error_response(SfError("NOT_FOUND", "The requested resource does not exist"),
                                  404, with_fields=False)
        except MethodNotAllowed as exc:
            allowed = ",".join(sorted(m for m in (exc.valid_methods or []) if m != "HEAD"))
            return json_response([{"errorCode": "METHOD_NOT_ALLOWED", "message":
                                   f"HTTP Method '{request.method}' not allowed. Allowed are "
                                   f"{allowed}"}], 405)
        endpoint = self.router.endpoints[key]
        if "version" in args:
            version = args.pop("version")
            if not _version_ok(version):
                return error_response(SfError("NOT_FOUND", "The requested resource does not "
                                              "exist"), 404, with_fields=False)
            call.version = version
        if endpoint.auth == "hook":
            if request.headers.get("X-Emulator-Key") != self.emu.admin_key:
                return json_response({"error": "missing or wrong X-Emulator-Key"}, 403)
        elif endpoint.auth == "session":
            denied = self._authenticate(call)
            if denied is not None:
                return denied
        org = call.rt.org.name if call.rt else None
        if endpoint.auth != "hook":
            self.emu.count(org or "-", f"{request.method} {endpoint.name}")
        if endpoint.auth == "session":
            # counted even when refused, as Salesforce counts it (see limits.py)
            allowed, _used = call.rt.usage.try_consume()
            if not allowed:
                return json_response([{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                       "message": "TotalRequests Limit exceeded."}], 403)
        answer_latency = 0.0
        if endpoint.auth != "hook":
            fault = self.emu.faults.match(org, args.get("sobject"), endpoint.operation,
                                          request.method, request.path)
            if fault is not None:
                answer_latency = fault.answer_latency_ms / 1000
                if fault.latency_ms:
                    time.sleep(fault.latency_ms / 1000)
                if fault.drop_connection:
                    raise _Drop()
                if fault.error_code or fault.status != 200:
                    return json_response([{"message": fault.message,
                                           "errorCode": fault.error_code}], fault.status)
        length = request.content_length or 0
        if length > self.emu.max_request_bytes:
            return json_response([{"message": f"Exceeded max size limit of "
                                   f"{self.emu.max_request_bytes} with request size {length}",
                                   "errorCode": "REQUEST_ENTITY_TOO_LARGE"}], 413)
        response = self.run(call, endpoint, args)
        if answer_latency:
            time.sleep(answer_latency)
        return response

    def run(self, call: Call, endpoint: Endpoint, args: dict[str, Any]) -> Response:
        try:
            return endpoint.handler(call, **args)
        except RequestError as exc:
            return error_response(exc, with_fields=bool(exc.fields))
        except DmlError as exc:
            return dml_error_response(exc)
        except SfError as exc:
            return error_response(exc)
        except Exception:  # noqa: BLE001 - a real org answers 500 with an error id
            error_id = f"{uuid.uuid4().int % 10**9}-{uuid.uuid4().int % 10**5}"
            traceback.print_exc(file=sys.stderr)
            return json_response([{"errorCode": "UNKNOWN_EXCEPTION", "message":
                                   "An unexpected error occurred. Please include this ErrorId "
                                   f"if you contact support: {error_id} (-1)"}], 500)

    def _authenticate(self, call: Call) -> Response | None:
        token = _bearer(call.request)
        session = self.emu.tokens.validate(token) if token else None
        if session is None:
            return json_response(INVALID_SESSION, 401)
        rt = self.emu.orgs.get(session.org)
        user = rt.org.user_by_id(session.user_id) if rt else None
        if user is None:
            return json_response(INVALID_SESSION, 401)
        call.rt, call.user, call.session = rt, user, session
        return None

    # -- composite subrequests -----------------------------------------------------------
    def subrequest(self, parent: Call, method: str, url: str, body: Any,
                   headers: dict[str, str] | None = None) -> Response:
        """Run one composite subrequest as the parent's user, uncounted, in its transaction."""
        path, _, query = url.partition("?")
        data = json.dumps(body) if body is not None else None
        builder = EnvironBuilder(path=path, query_string=query, method=method.upper(), data=data,
                                 headers={**(headers or {}), "Content-Type": "application/json"})
        environ = builder.get_environ()
        request = Request(environ)
        call = Call(emu=self.emu, request=request, rt=parent.rt, user=parent.user,
                    session=parent.session, internal=True)
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
        adapter = self.router.map.bind("emulator")
        try:
            key, args = adapter.match(path, method=method.upper())
        except (NotFound, MethodNotAllowed):
            return error_response(SfError("NOT_FOUND", "The requested resource does not exist"),
                                  404, with_fields=False)
        endpoint = self.router.endpoints[key]
        if endpoint.auth != "session":
            return error_response(SfError("NOT_FOUND", "The requested resource does not exist"),
                                  404, with_fields=False)
        if "version" in args:
            call.version = args.pop("version")
        return self.run(call, endpoint, args)


_APPS: dict[int, "EmulatorApp"] = {}


def current_app(emu: Any) -> "EmulatorApp":
    """The app serving `emu` (composite needs it to run subrequests)."""
    return _APPS[id(emu)]


class _Drop(Exception):
    """Fault injection: close the connection without an answer."""


def _version_ok(version: str) -> bool:
    try:
        major, minor = version.split(".")
        return MIN_VERSION <= int(major) <= MAX_VERSION and minor == "0"
    except ValueError:
        return False
