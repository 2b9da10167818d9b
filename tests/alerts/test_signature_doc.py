"""The signature check that docs/alerts.md gives receivers works on what Cothon sends: a real
signature passes; a changed body, another secret, a forged or old timestamp fail."""

from __future__ import annotations

import re
import time
from pathlib import Path

from sync_engine.alerts.webhook import sign, verify_signature

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def _doc_snippet():
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["cothon_signature_ok"]


BODY = b'{"event":"incident.opened","incident_id":1}'
SECRET = "whsec_test-secret"


def test_the_documented_snippet_accepts_cothons_signature():
    check = _doc_snippet()
    assert check(BODY, sign(BODY, SECRET), SECRET)


def test_the_documented_snippet_detects_tampering_and_replays():
    check = _doc_snippet()
    header = sign(BODY, SECRET)
    assert not check(BODY.replace(b"1}", b"2}"), header, SECRET)
    assert not check(BODY, header, "whsec_other")
    t, v1 = header.split(",")
    forged_time = f"t={int(t[2:]) + 1},{v1}"
    assert not check(BODY, forged_time, SECRET)
    old = sign(BODY, SECRET, timestamp=int(time.time()) - 301)
    assert not check(BODY, old, SECRET)
    assert not check(BODY, "garbage", SECRET)


def test_cothons_own_verifier_agrees_with_the_snippet():
    old = sign(BODY, SECRET, timestamp=int(time.time()) - 301)
    assert verify_signature(BODY, sign(BODY, SECRET), SECRET)
    assert not verify_signature(BODY + b" ", sign(BODY, SECRET), SECRET)
    assert not verify_signature(BODY, old, SECRET)
