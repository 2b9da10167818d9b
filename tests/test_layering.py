"""The layering of docs/architecture.md ("Layers"), checked on the source: a module imports only
from its own layer or below. Walks every module of the Django apps with ast (imports inside
functions count too); migrations are history and are skipped.

Layers, lowest first:
  0 core          cothon/ (settings, tenancy, the Celery app, the broker)
  1 domain        opportunities/, proposals/
  2 integrations  integrations/
  3 sync engine   sync_engine/
  4 web           views, API, serializers, forms, filters, urls, admin, template tags and the
                  other request-handling modules of every app (see WEB_MODULES)
  5 entry points  management commands and the demo app
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_LAYERS = {"cothon": 0, "opportunities": 1, "proposals": 1, "integrations": 2, "sync_engine": 3, "demo": 5}
CORE, DOMAIN, INTEGRATIONS, SYNC, WEB, ENTRY = range(6)
LAYER_NAMES = ("core", "domain", "integrations", "sync engine", "web", "entry points")

# Modules (or packages) that handle requests: wherever they live, they are the web layer.
WEB_MODULES = {"views", "api", "serializers", "forms", "filters", "urls", "admin", "templatetags", "downloads",
               "csv_export", "record_views", "record_panel", "context_processors", "pages", "middleware",
               "api_auth", "permissions", "wsgi"}
WEB_SUFFIXES = ("_views", "_forms", "_urls")

# The documented exception (docs/architecture.md): domain services record a change through
# the sync engine's one narrow call, with its shared vocabulary. Nothing else crosses upward.
ALLOWED = {
    ("opportunities.services", "sync_engine.outbox"),
    ("opportunities.services", "sync_engine.vocabulary"),
    ("proposals.services", "sync_engine.outbox"),
    ("proposals.services", "sync_engine.vocabulary"),
}


# The sync engine's shared vocabulary (record types, priorities, Event, Origin) imports only
# Django's choices, so every layer may name a change with it.
SHARED_LEAVES = {"sync_engine.vocabulary"}


def layer_of(module: str) -> int | None:
    """The layer of a dotted module name of the project; None outside the Django apps."""
    if module in SHARED_LEAVES:
        return min(APP_LAYERS.values())
    parts = module.split(".")
    if parts[0] not in APP_LAYERS:
        return None
    if parts[0] == "demo" or "management" in parts:
        return ENTRY
    if any(part in WEB_MODULES or part.endswith(WEB_SUFFIXES) for part in parts[1:]):
        return WEB
    return APP_LAYERS[parts[0]]


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Project modules this source imports (absolute or relative, at any depth of the code)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from sync_engine import links` imports the module sync_engine.links.
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return {name for name in found if name.split(".")[0] in APP_LAYERS}


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    if own is None:
        return []
    problems = []
    for target in sorted(imported_modules(source, module, is_package=is_package)):
        theirs = layer_of(target)
        if theirs is None or theirs <= own:
            continue
        if any(module == src and (target == dst or target.startswith(dst + ".")) for src, dst in ALLOWED):
            continue
        problems.append(f"{module} ({LAYER_NAMES[own]}) imports {target} ({LAYER_NAMES[theirs]})")
    return problems


def project_modules():
    for app in APP_LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            is_package = path.name == "__init__.py"
            parts = relative.parts[:-1] if is_package else (*relative.parts[:-1], path.stem)
            yield ".".join(parts), path, is_package


def test_no_module_imports_a_higher_layer():
    problems = []
    for module, path, is_package in project_modules():
        problems += violations(path.read_text(), module, is_package=is_package)
    assert not problems, "Layering broken (docs/architecture.md, Layers):\n" + "\n".join(problems)


def test_the_walk_sees_every_app():
    modules = {module for module, _, _ in project_modules()}
    assert {"cothon.models", "opportunities.services", "integrations.selectors", "sync_engine.links",
            "sync_engine.record_views", "demo.data"} <= modules


def test_the_layers_of_known_modules():
    assert [layer_of(m) for m in ("cothon.tenancy.services", "opportunities.selectors", "proposals.models",
                                  "integrations.salesforce.client", "sync_engine.outbox")] == [CORE, DOMAIN, DOMAIN,
                                                                                               INTEGRATIONS, SYNC]
    assert {layer_of(m) for m in ("opportunities.views", "opportunities.department_views", "integrations.views.settings",
                                  "sync_engine.record_views", "sync_engine.templatetags.sync_ui", "cothon.urls",
                                  "proposals.serializers", "cothon.api.urls")} == {WEB}
    assert {layer_of(m) for m in ("demo.data", "demo.management.commands.seed_demo",
                                  "integrations.management.commands.rotate_token_keys")} == {ENTRY}
    assert layer_of("salesforce_emulator.server") is None


def test_an_upward_import_is_reported_wherever_it_hides():
    source = "def f():\n    from sync_engine.models import SyncLink\n    import integrations.selectors\n"
    assert violations(source, "opportunities.selectors") == [
        "opportunities.selectors (domain) imports integrations.selectors (integrations)",
        "opportunities.selectors (domain) imports sync_engine.models (sync engine)",
    ]
    assert violations("from demo.data import seed_demo\n", "sync_engine.views") == [
        "sync_engine.views (web) imports demo.data (entry points)"]
    assert violations("from ..links import salesforce_links\n", "sync_engine.push.records") == []
    assert violations("from ..selectors import opportunity_get\n", "cothon.api.fields") == []


def test_only_the_documented_exception_crosses_upward():
    assert violations("from sync_engine.outbox import record_change\nfrom sync_engine.vocabulary import Event\n",
                      "proposals.services") == []
    assert violations("from sync_engine.outbox import record_change\n", "proposals.selectors") == [
        "proposals.selectors (domain) imports sync_engine.outbox (sync engine)"]
    assert violations("from sync_engine.services import record_sync_now\n", "opportunities.services") == [
        "opportunities.services (domain) imports sync_engine.services (sync engine)"]
