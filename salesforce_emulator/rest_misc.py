"""Version list, resource list, limits, describeGlobal and describe."""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from .http import Call, json_response, render_version
from .errors import not_found
from .describe_build import STANDARD_DIR
from .metadata import render

SEASONS = ("Winter", "Spring", "Summer")


def version_label(major: int) -> str:
    idx = major - 59
    return f"{SEASONS[idx % 3]} '{24 + idx // 3:02d}"


def versions(call: Call):
    from .app import MAX_VERSION
    out = [{"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
           for v in range(31, MAX_VERSION + 1)]
    return json_response(out)


# Resources a real org lists that the emulator may serve; the index names only those that
# have a GET route here, so every URL it lists answers (extensions such as tooling may be absent).
INDEX_CANDIDATES = ("sobjects", "query", "queryAll", "limits", "composite", "search",
                    "parameterizedSearch", "tooling", "jobs/ingest", "jobs/query")


def resources(call: Call):
    from .app import current_app
    base = f"/services/data/v{call.version}"
    adapter = current_app(call.emu).router.map.bind("emulator")
    out = {n: f"{base}/{n}" for n in INDEX_CANDIDATES
           if adapter.test(f"{base}/{n}", method="GET")}
    out["identity"] = (f"{call.emu.instance_url}/id/{call.rt.org.org_id}/{call.user.id}")
    return json_response(out)


@lru_cache(maxsize=1)
def _limits_template() -> dict:
    return json.loads((STANDARD_DIR / "_limits.json").read_text(encoding="utf-8"))


def limits(call: Call):
    body = copy.deepcopy(_limits_template())
    usage = call.rt.usage
    used = usage.used()
    daily = {"Max": usage.allowance, "Remaining": max(usage.allowance - used, 0)}
    for key, value in body["DailyApiRequests"].items():
        if isinstance(value, dict):
            daily[key] = {"Max": 0, "Remaining": 0}
    body["DailyApiRequests"] = daily
    return json_response(body)


def describe_global(call: Call):
    schema, profile = call.rt.schema, call.profile
    sobjects = [schema.global_entry(profile, obj) for obj in sorted(
        schema.objects.values(), key=lambda o: o.name) if schema.readable(profile, obj)]
    text = json.dumps({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
    return json_response(None, text=render(text, call.version, call.emu.instance_url))


def readable_object(call: Call, sobject: str):
    obj = call.rt.schema.get(sobject)
    if obj is None or not call.rt.schema.readable(call.profile, obj):
        raise not_found()
    return obj


def describe(call: Call, sobject: str):
    obj = readable_object(call, sobject)
    text = call.rt.schema.describe_json(call.profile, obj)
    return json_response(None, text=render(text, call.version, call.emu.instance_url))


def basic_info(call: Call, sobject: str):
    obj = readable_object(call, sobject)
    entry = call.rt.schema.global_entry(call.profile, obj)
    text = json.dumps({"objectDescribe": entry, "recentItems": []})
    return json_response(None, text=render_version(
        render(text, call.version, call.emu.instance_url), call.version))


def register(router) -> None:
    v = "/services/data/v<version>"
    router.add("/services/data", ["GET"], versions, auth="none", operation="read")
    router.add(v, ["GET"], resources, operation="read")
    router.add(f"{v}/limits", ["GET"], limits, operation="limits")
    router.add(f"{v}/sobjects", ["GET"], describe_global, operation="describe")
    router.add(f"{v}/sobjects/<sobject>/describe", ["GET"], describe, operation="describe")
    router.add(f"{v}/sobjects/<sobject>", ["GET"], basic_info, operation="describe",
               name="basic_info")
