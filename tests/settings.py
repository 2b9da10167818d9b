"""Settings of the test suite: cothon.settings with the demo's conveniences switched on.

pytest-django imports settings before any conftest runs, so these must be set here. They also
reach every subprocess a test starts (workers, gunicorn, manage.py), which inherit os.environ.
Tests of the production behaviour switch them off again (tests/security/)."""

import os

# Keys generated into var/test, as in the demo (production refuses to start without them).
os.environ.setdefault("COTHON_DEMO", "1")
# The emulator listens on 127.0.0.1; tests of the SSRF guard turn this off per test.
os.environ.setdefault("COTHON_ALLOW_LOOPBACK_SALESFORCE", "1")
# Parallel runs share one Redis: keep this run's cache keys (login/API throttles) apart.
os.environ.setdefault("COTHON_CACHE_PREFIX", f"test-{os.getpid()}")

# Other suites send many bad tokens (fuzzing); tests/security/ sets the real limit per test.
os.environ.setdefault("COTHON_API_AUTH_FAILURE_LIMIT", "100000")
# No background Outbound Message setup after every connect/settings save (tests call
# sync_engine.pull.rules.ensure_outbound_rules themselves).
os.environ.setdefault("COTHON_OUTBOUND_RULES_AUTO", "0")

from cothon.settings import *  # noqa: E402,F401,F403
