"""The small subset of BSON that the MongoDB probe needs (encode commands, decode replies)."""

from __future__ import annotations

import struct
from typing import Any


def encode(document: dict[str, Any]) -> bytes:
    """Encode a dict of str/int/float/bool/None/dict/list values as a BSON document."""
    body = b"".join(_element(key, value) for key, value in document.items())
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _cstring(text: str) -> bytes:
    raw = text.encode()
    if b"\x00" in raw:
        raise ValueError("BSON keys cannot contain NUL")
    return raw + b"\x00"


def _element(key: str, value: Any) -> bytes:
    name = _cstring(key)
    if isinstance(value, bool):
        return b"\x08" + name + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"\x10" + name + struct.pack("<i", value)
        return b"\x12" + name + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + name + struct.pack("<d", value)
    if isinstance(value, str):
        raw = value.encode()
        return b"\x02" + name + struct.pack("<i", len(raw) + 1) + raw + b"\x00"
    if value is None:
        return b"\x0a" + name
    if isinstance(value, dict):
        return b"\x03" + name + encode(value)
    if isinstance(value, (list, tuple)):
        return b"\x04" + name + encode({str(index): item for index, item in enumerate(value)})
    raise TypeError(f"cannot encode {type(value).__name__} as BSON")


def decode(data: bytes) -> dict[str, Any]:
    """Decode one BSON document; unknown element types raise ValueError."""
    document, _ = _decode_document(data, 0)
    return document


def _decode_document(data: bytes, offset: int) -> tuple[dict[str, Any], int]:
    (length,) = struct.unpack_from("<i", data, offset)
    end = offset + length
    if length < 5 or end > len(data) or data[end - 1] != 0:
        raise ValueError("truncated BSON document")
    position = offset + 4
    result: dict[str, Any] = {}
    while position < end - 1:
        kind = data[position]
        position += 1
        name_end = data.index(b"\x00", position)
        name = data[position:name_end].decode(errors="replace")
        position = name_end + 1
        value, position = _decode_value(kind, data, position)
        result[name] = value
    return result, end


def _decode_value(kind: int, data: bytes, position: int) -> tuple[Any, int]:
    fixed = {0x01: ("<d", 8), 0x10: ("<i", 4), 0x12: ("<q", 8), 0x09: ("<q", 8), 0x11: ("<Q", 8)}
    if kind in fixed:
        fmt, size = fixed[kind]
        return struct.unpack_from(fmt, data, position)[0], position + size
    if kind in {0x02, 0x0D, 0x0E}:
        (length,) = struct.unpack_from("<i", data, position)
        text = data[position + 4 : position + 3 + length].decode(errors="replace")
        return text, position + 4 + length
    if kind in {0x03, 0x04}:
        document, end = _decode_document(data, position)
        return (list(document.values()) if kind == 0x04 else document), end
    if kind == 0x08:
        return data[position] == 1, position + 1
    if kind in {0x0A, 0x06, 0xFF, 0x7F}:
        return None, position
    if kind == 0x07:
        return data[position : position + 12].hex(), position + 12
    if kind == 0x05:
        (length,) = struct.unpack_from("<i", data, position)
        return b"", position + 5 + length  # binary payloads are values: never kept
    if kind == 0x13:
        return None, position + 16
    raise ValueError(f"unsupported BSON type 0x{kind:02x}")
