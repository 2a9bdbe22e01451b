"""Choosing which values of a record to redact: top-level names or a small JSON path syntax."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["FieldPath", "parse_path", "rewrite_strings"]

# A parsed path: keys (str), list indexes (int) and "*" for every element or value.
FieldPath = tuple[str | int, ...]


def parse_path(text: str) -> FieldPath:
    """Parse `name`, `a.b`, `$.a.b[0]` or `a.items[*].text` into steps; raises ValueError on bad syntax."""
    text = text.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    if not text:
        raise ValueError("empty field path")
    steps: list[str | int] = []
    for part in text.split("."):
        if not part:
            raise ValueError(f"empty step in field path {text!r}")
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        while rest:
            index, closing, rest = rest.partition("]")
            if not closing:
                raise ValueError(f"unclosed [ in field path {text!r}")
            if index == "*":
                steps.append("*")
            elif index.isdigit():
                steps.append(int(index))
            else:
                raise ValueError(f"bad index [{index}] in field path {text!r}")
            rest = rest.removeprefix("[") if rest.startswith("[") else rest
            if rest and not rest[0].isdigit() and rest[0] != "*":
                raise ValueError(f"unexpected {rest!r} in field path {text!r}")
    return tuple(steps)


def _walk(value: Any, path: FieldPath, trail: str) -> Iterator[tuple[Any, str | int, str]]:
    """Yield (container, key, dotted name) for every string the path reaches."""
    if not path:
        return
    step, rest = path[0], path[1:]
    if step == "*":
        keys: list[str | int] = (
            list(value) if isinstance(value, dict) else list(range(len(value))) if isinstance(value, list) else []
        )
    else:
        keys = [step]
    for key in keys:
        in_dict = isinstance(value, dict) and isinstance(key, str) and key in value
        in_list = isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value)
        if not (in_dict or in_list):
            continue
        child = value[key]
        name = f"{trail}.{key}" if trail else str(key)
        if rest:
            yield from _walk(child, rest, name)
        elif isinstance(child, str):
            yield value, key, name


def _all_strings(value: Any, trail: str) -> Iterator[tuple[Any, str | int, str]]:
    items: list[tuple[str | int, Any]] = (
        list(value.items()) if isinstance(value, dict) else list(enumerate(value)) if isinstance(value, list) else []
    )
    for key, child in items:
        name = f"{trail}.{key}" if trail else str(key)
        if isinstance(child, str):
            yield value, key, name
        else:
            yield from _all_strings(child, name)


def rewrite_strings(record: Any, paths: list[FieldPath], rewrite: Callable[[str, str], str]) -> None:
    """Replace, in place, every string the paths reach (all strings when `paths` is empty) by rewrite(name, s)."""
    targets = [hit for path in paths for hit in _walk(record, path, "")] if paths else list(_all_strings(record, ""))
    for container, key, name in targets:
        container[key] = rewrite(name, container[key])
