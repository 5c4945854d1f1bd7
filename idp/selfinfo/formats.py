"""Reading an import file: JSON Lines or CSV, one record at a time with its line number.

JSONL: one JSON object per line (blank lines skipped). CSV (RFC 4180, UTF-8, a header row):
``account`` or ``issuer_hash`` + ``serial`` (+ ``not_after``), ``category``, ``as_of`` and
``data`` (the category's document as a JSON string). Both become the same record object for
``idp.selfinfo.records.check_record``. A problem with one record is that record's rejection; a
file that cannot be read at all (unknown format, not UTF-8, a CSV header we do not know) is an
``ImportFileError`` and nothing is imported.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .my_number import holds_my_number, looks_like_my_number_key

FORMATS = ("jsonl", "csv")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
CSV_COLUMNS = ("account", "issuer_hash", "serial", "not_after", "category", "as_of", "data")
CERTIFICATE_COLUMNS = ("issuer_hash", "serial", "not_after")
MAX_RECORD = 1 << 20
"""Bytes in one record: far above any category's document, low enough to refuse garbage."""
BOM = "\ufeff"


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing was read from it."""


@dataclass(frozen=True)
class Item:
    """One record as read: its first line, its last line (for progress), and either the parsed
    object or why it could not be parsed."""

    line: int
    end_line: int
    value: Any = None
    error: str | None = None


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    if fmt := EXTENSIONS.get(path.suffix.lower()):
        return fmt
    raise ImportFileError(
        f"cannot tell the format of {path.name}: name it .jsonl or .csv, or pass --format"
    )


def survey(path: Path, fmt: str) -> int:
    """The number of lines, for the progress bar; a CSV file must also be UTF-8 throughout
    (checked first, so a bad byte near the end does not leave half a file imported)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, tail = 0, b"\n"
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 16):
                if fmt == "csv":
                    _decode(decoder, chunk, lines, path)
                lines += chunk.count(b"\n")
                tail = chunk[-1:]
            if fmt == "csv":
                _decode(decoder, b"", lines, path)
    except OSError as e:
        raise ImportFileError(f"cannot read {path}: {e.strerror or e}") from None
    return lines if tail == b"\n" else lines + 1


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, lines: int, path: Path) -> None:
    try:
        decoder.decode(chunk, final=not chunk)
    except UnicodeDecodeError as e:
        line = lines + chunk[: e.start].count(b"\n") + 1
        raise ImportFileError(f"{path.name} is not UTF-8 text (near line {line})") from None


def read(path: Path, fmt: str) -> Iterator[Item]:
    try:
        yield from (_jsonl if fmt == "jsonl" else _csv)(path)
    except OSError as e:
        raise ImportFileError(f"cannot read {path}: {e.strerror or e}") from None


def _jsonl(path: Path) -> Iterator[Item]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if len(raw) > MAX_RECORD:
                yield Item(number, number, error=f"line longer than {MAX_RECORD} bytes")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Item(number, number, error="line is not UTF-8 text")
                continue
            text = text.removeprefix(BOM) if number == 1 else text
            if text.strip():
                yield _parsed(number, number, text, "")


def _csv(path: Path) -> Iterator[Item]:
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, strict=True)
        header, end = None, 0
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                reason = f"CSV is malformed ({e}); the rest of the file was not read"
                yield Item(start, reader.line_num, error=reason)
                return
            end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row)
                continue
            yield _row(start, end, header, row)
        if header is None:
            raise ImportFileError(f"{path.name} has no header row")


def _header(row: list[str]) -> list[str]:
    names = [cell.strip() for cell in row]
    for name in names:
        if holds_my_number(name):
            raise ImportFileError(
                "a column name holds a 12-digit number; My Numbers are never imported, so "
                "nothing was"
            )
        if looks_like_my_number_key(name):
            raise ImportFileError(
                f"column {name[:40]!r} is named like a My Number; My Numbers are never "
                "imported, so nothing was"
            )
    if unknown := [n for n in names if n not in CSV_COLUMNS]:
        raise ImportFileError(
            f"unknown column(s) {', '.join(repr(n[:40]) for n in unknown)}; "
            f"the columns are {', '.join(CSV_COLUMNS)}"
        )
    if len(set(names)) != len(names):
        raise ImportFileError("a column is named twice in the header")
    keyed = "account" in names or {"issuer_hash", "serial"} <= set(names)
    if not ({"category", "data"} <= set(names) and keyed):
        raise ImportFileError(
            "the header needs category, data, and account or issuer_hash and serial"
        )
    return names


def _row(start: int, end: int, header: list[str], row: list[str]) -> Item:
    if len(row) != len(header):
        return Item(start, end, error=f"expected {len(header)} cells, found {len(row)}")
    cells = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
    record: dict[str, Any] = {"category": cells["category"]}
    if cells.get("account"):
        record["account"] = cells["account"]
    if any(cells.get(c) for c in CERTIFICATE_COLUMNS):
        certificate = {c: cells[c] for c in CERTIFICATE_COLUMNS if cells.get(c)}
        if "not_after" in certificate:
            if not certificate["not_after"].isdigit():
                return Item(start, end, error="not_after must be an integer (epoch seconds)")
            certificate["not_after"] = int(certificate["not_after"])
        record["certificate"] = certificate
    if cells.get("as_of"):
        record["as_of"] = cells["as_of"]
    if not cells["data"]:
        return Item(start, end, error="'data' is empty")
    item = _parsed(start, end, cells["data"], "'data' ")
    if item.error:
        return item
    return Item(start, end, {**record, "data": item.value})


def _parsed(start: int, end: int, text: str, what: str) -> Item:
    """JSON with no repeated member names and no NaN/Infinity (neither is JSON; both would
    let two readers of the same file see different data)."""
    try:
        value = json.loads(text, object_pairs_hook=_unique, parse_constant=_no_constant)
    except ValueError as e:
        return Item(start, end, error=f"{what}is not valid JSON ({_json_reason(e)})")
    return Item(start, end, value)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"member {key[:40]!r} appears twice")
        obj[key] = value
    return obj


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _json_reason(error: ValueError) -> str:
    """json's own message (position only, never the text) or ours."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at column {error.colno}"
    return str(error)
