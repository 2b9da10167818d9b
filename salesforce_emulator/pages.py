"""HTML pages (OAuth login, record viewer) from the templates folder, escaped by default."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from string import Template

from werkzeug.wrappers import Response

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, org_name: str, content_html: str, status: int = 200) -> Response:
    body = _template("base.html").substitute(title=esc(title), org_name=esc(org_name),
                                             content=content_html)
    return Response(body, status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def fill(name: str, **values: str) -> str:
    return _template(name).substitute(**values)
