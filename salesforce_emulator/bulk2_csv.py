"""CSV plumbing of Bulk API 2.0: dialects, result files and the query-result index.

Uploaded data, result files and query results live in files under
``<data-dir>/bulk2/<job id>/`` so a 100,000-row job never sits in memory; query results keep
an index of row byte offsets so a results page (``maxRecords`` + ``locator``) is a seek.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
              "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
NULL_MARK = "#N/A"


def detect_line_ending(path: Path) -> str | None:
    """LF or CRLF, from the first line break outside quotes (None: a single line)."""
    quoted = False
    prev = ""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(65536)
            if not block:
                return None
            for byte in block.decode("latin-1"):
                if byte == '"':
                    quoted = not quoted
                elif byte == "\n" and not quoted:
                    return "CRLF" if prev == "\r" else "LF"
                prev = byte


def line(values: list[str], delimiter: str, ending: str, quote_all: bool = True) -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator=ending,
               quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerow(values)
    return buf.getvalue()


class ResultWriter:
    """One result file (successful / failed / unprocessed), appended chunk by chunk."""

    def __init__(self, path: Path, header: str):
        self.path = path
        self.header = header
        self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._fh.write(header)
        self._writer = csv.writer(self._fh, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def rows(self, rows: list[list[str]]) -> None:
        self._writer.writerows(rows)

    def close(self) -> None:
        self._fh.close()


def ingest_headers(columns: list[str]) -> dict[str, str]:
    """Result-file header lines as Salesforce writes them (sf__ columns quoted)."""
    cols = line(columns, ",", "\n", quote_all=False).rstrip("\n") if columns else ""
    sep = "," if cols else ""
    return {
        "successfulResults": f'"sf__Id","sf__Created"{sep}{cols}\n',
        "failedResults": f'"sf__Id","sf__Error"{sep}{cols}\n',
        "unprocessedrecords": f"{cols}\n",
    }


def csv_value(value: Any) -> str:
    """A record value as Bulk query CSV writes it (null = empty; datetimes end in Z)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if len(value) == 28 and value[10] == "T" and value.endswith("+0000"):
            return value[:-5] + "Z"
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def pluck(record: dict[str, Any], path: str) -> Any:
    """'Account.Owner.Name' from a REST-shaped record (case-insensitive keys)."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        if part in current:
            current = current[part]
            continue
        lowered = part.lower()
        current = next((v for k, v in current.items() if k.lower() == lowered), None)
    return current


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()
        return int(text) if text.isdigit() else None
    except (ValueError, UnicodeDecodeError):
        return None


class QueryResultFile:
    """Query results: header + rows in a CSV file, with row offsets in a side file."""

    def __init__(self, folder: Path):
        self.data = folder / "results.csv"
        self.index = folder / "results.idx"

    def write(self, columns: list[str], records, delimiter: str, ending: str) -> int:
        offsets = array("q")
        with open(self.data, "wb") as fh:
            fh.write(line(columns, delimiter, ending).encode("utf-8"))
            buf = io.StringIO()
            writer = csv.writer(buf, delimiter=delimiter, lineterminator=ending,
                                quoting=csv.QUOTE_ALL)
            position = fh.tell()
            for record in records:
                writer.writerow([csv_value(pluck(record, c)) for c in columns])
                data = buf.getvalue().encode("utf-8")
                buf.seek(0)
                buf.truncate()
                offsets.append(position)
                fh.write(data)
                position += len(data)
            offsets.append(position)
        with open(self.index, "wb") as fh:
            offsets.tofile(fh)
        return len(offsets) - 1

    def _offsets(self) -> array:
        offsets = array("q")
        with open(self.index, "rb") as fh:
            offsets.frombytes(fh.read())
        return offsets

    def page(self, offset: int, max_records: int) -> tuple[Iterator[bytes], int, int | None]:
        """(body chunks, rows in page, next offset or None)."""
        offsets = self._offsets()
        total = len(offsets) - 1
        end = min(total, offset + max_records)
        start_byte, end_byte = offsets[offset] if offset < total else offsets[-1], offsets[end]
        count = max(end - offset, 0)
        data_path = self.data

        def body() -> Iterator[bytes]:
            with open(data_path, "rb") as fh:
                yield fh.readline()  # header
                fh.seek(start_byte)
                remaining = end_byte - start_byte
                while remaining > 0:
                    chunk = fh.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    yield chunk

        return body(), count, end if end < total else None
