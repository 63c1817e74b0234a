"""Uploaded text files (the catalog and inventory CSVs): size-checked, UTF-8, no NUL character.

    content = upload_text(file, limit=settings.CATALOG_IMPORT_MAX_BYTES, code="catalog_csv_invalid")

A refusal is a 422 naming the file field and the line (details.line, counted from 1 like the
importers' row reports), so the sender can find the byte; PostgreSQL refuses NUL in text, so one
that got through would fail the write later.
"""

from __future__ import annotations

from typing import Any

from api.errors import InvalidInput, PayloadTooLarge


def upload_text(file: Any, *, limit: int, code: str, kind: str = "invalid") -> str:
    """An uploaded file's text: at most `limit` bytes (413), UTF-8 with or without a BOM."""
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    raw = file.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    return text_decode(raw, code=code, kind=kind)


def text_decode(raw: bytes, *, code: str, kind: str = "invalid") -> str:
    """`raw` as text; a byte that is not UTF-8, or a NUL, is a 422 naming its line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"Line {line} is not UTF-8 text (byte 0x{raw[exc.start]:02x})."
        raise _invalid(message, line, code, kind) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise _invalid(f"Line {line} holds a NUL character.", line, code, kind)
    return text


def _invalid(message: str, line: int, code: str, kind: str) -> InvalidInput:
    return InvalidInput.for_field("file", message, kind=kind, code=code, details={"line": line})
