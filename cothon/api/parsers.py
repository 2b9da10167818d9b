"""The API's JSON parser: a body too deeply nested to parse is a 400, like any malformed body."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # json.loads recurses once per nesting level: `[[[…]]]` 3,000 deep exhausts the stack.
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
