"""A strict reader for the common subset of HCL, used before python-hcl2 because it is ~20x faster.

It returns the same shape as `terraform.unquote(hcl2.loads(text))` for blocks, attributes, strings,
numbers, booleans, lists, objects and heredocs; any other expression is kept as `${source text}`.
Anything it is not sure about (escapes, template directives, odd tokens) raises `Unsupported`, and
the caller falls back to python-hcl2, which stays the reference parser (see ADR 0201).
"""

from __future__ import annotations

import re
from typing import Any


class Unsupported(Exception):
    """The text uses HCL this reader does not handle; parse it with python-hcl2 instead."""


_TOKEN = re.compile(
    r"""
    (?P<newline>\n)
  | (?P<space>[ \t\r]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\n)
  | (?P<string>"(?:[^"\\$%\n]|\$(?!\{)|%(?!\{)|\$\{[^}\n]*\})*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<punct>[{}\[\]()=,:.?*+/<>!&|%-])
    """,
    re.S | re.X,
)
_OPEN = {"{": "}", "[": "]", "(": ")"}


class _Token:
    __slots__ = ("end", "kind", "line", "start", "value")

    def __init__(self, kind: str, value: str, start: int, end: int, line: int) -> None:
        self.kind = kind
        self.value = value
        self.start = start
        self.end = end
        self.line = line


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    line = 1
    length = len(text)
    while position < length:
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(f"unexpected character at line {line}")
        kind = match.lastgroup or ""
        if kind == "tag":  # the heredoc alternative reports its inner group last
            kind = "heredoc"
        end = match.end()
        if kind == "heredoc":
            tag = match.group("tag")
            closing = re.compile(rf"^[ \t]*{re.escape(tag)}[ \t]*$", re.M)
            found = closing.search(text, end)
            if found is None:
                raise Unsupported("unterminated heredoc")
            end = found.end()
            value = text[match.start() : end].strip()
            tokens.append(_Token("heredoc", value, match.start(), end, line))
        elif kind == "newline":
            tokens.append(_Token("newline", "\n", position, end, line))
        elif kind == "comment":
            if "\n" in match.group():
                tokens.append(_Token("newline", "\n", position, end, line))
        elif kind != "space":
            tokens.append(_Token(kind, match.group(), position, end, line))
        line += text.count("\n", position, end)
        position = end
    tokens.append(_Token("eof", "", length, length, line))
    return tokens


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def skip_newlines(self) -> None:
        while self.peek().kind == "newline":
            self.index += 1

    def body(self, closing: str | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while True:
            self.skip_newlines()
            token = self.peek()
            if closing is not None and token.value == closing and token.kind == "punct":
                self.take()
                return result
            if token.kind == "eof":
                if closing is not None:
                    raise Unsupported("unclosed block")
                return result
            if token.kind != "ident":
                raise Unsupported(f"unexpected {token.kind} at line {token.line}")
            name = self.take().value
            after = self.peek()
            if after.kind == "punct" and after.value == "=":
                self.take()
                if name in result:
                    raise Unsupported("duplicate attribute")
                result[name] = self.expression(stop={"newline", "eof"}, closers={"}"})
                continue
            labels: list[str] = []
            while self.peek().kind in {"string", "ident"}:
                label = self.take()
                labels.append(label.value[1:-1] if label.kind == "string" else label.value)
            opening = self.take()
            if opening.kind != "punct" or opening.value != "{":
                raise Unsupported(f"expected block at line {opening.line}")
            inner = self.body("}")
            for label_text in reversed(labels):
                inner = {label_text: inner}
            existing = result.setdefault(name, [])
            if not isinstance(existing, list):
                raise Unsupported("block and attribute share a name")
            existing.append(inner)

    def expression(self, stop: set[str], closers: set[str]) -> Any:
        """A literal, list or object when the whole expression is one; else `${source}`."""
        start = self.index
        try:
            value = self.literal()
            if self._at_end(stop, closers):
                return value
        except Unsupported:
            pass
        self.index = start
        return self.raw(stop, closers)

    def _at_end(self, stop: set[str], closers: set[str]) -> bool:
        token = self.peek()
        if token.kind in stop or token.kind == "eof":
            return True
        return token.kind == "punct" and (token.value in closers or token.value == ",")

    def literal(self) -> Any:
        token = self.peek()
        if token.kind == "string":
            self.take()
            if "\\" in token.value:
                raise Unsupported("escape sequence")
            return token.value[1:-1]
        if token.kind == "heredoc":
            self.take()
            return token.value
        if token.kind == "number":
            self.take()
            return float(token.value) if any(c in token.value for c in ".eE") else int(token.value)
        if token.kind == "ident" and token.value in {"true", "false", "null"}:
            self.take()
            return {"true": True, "false": False, "null": None}[token.value]
        if token.kind == "punct" and token.value in {"[", "{"}:
            following = self.peek(1)
            if following.kind == "ident" and following.value == "for":
                raise Unsupported("for expression")  # kept whole as an expression by raw()
        if token.kind == "punct" and token.value == "[":
            self.take()
            items: list[Any] = []
            while True:
                self.skip_newlines()
                if self.peek().kind == "punct" and self.peek().value == "]":
                    self.take()
                    return items
                items.append(self.expression(stop={"newline"}, closers={"]"}))
                self.skip_newlines()
                if self.peek().kind == "punct" and self.peek().value == ",":
                    self.take()
        if token.kind == "punct" and token.value == "{":
            self.take()
            mapping: dict[str, Any] = {}
            while True:
                self.skip_newlines()
                key_token = self.peek()
                if key_token.kind == "punct" and key_token.value == "}":
                    self.take()
                    return mapping
                if key_token.kind not in {"ident", "string"}:
                    raise Unsupported("computed object key")
                self.take()
                key = key_token.value[1:-1] if key_token.kind == "string" else key_token.value
                separator = self.take()
                if separator.kind != "punct" or separator.value not in {"=", ":"}:
                    raise Unsupported("object without = or :")
                mapping[key] = self.expression(stop={"newline"}, closers={"}"})
                if self.peek().kind == "punct" and self.peek().value == ",":
                    self.take()
        raise Unsupported("not a literal")

    def raw(self, stop: set[str], closers: set[str]) -> str:
        """Consume an expression up to the end of its line (outside brackets) and keep its source."""
        depth: list[str] = []
        first = self.peek()
        last = first
        while True:
            token = self.peek()
            if token.kind == "eof":
                if depth:
                    raise Unsupported("unbalanced expression")
                break
            at_top = not depth
            ends_here = token.kind in stop or (token.kind == "punct" and token.value in (closers | {","}))
            if at_top and ends_here:
                break
            if token.kind == "punct" and token.value in _OPEN:
                depth.append(_OPEN[token.value])
            elif token.kind == "punct" and token.value in {"}", "]", ")"} and (not depth or depth.pop() != token.value):
                raise Unsupported("unbalanced expression")
            last = self.take()
        if last is first and first.kind in {"newline", "eof"}:
            raise Unsupported("missing expression")
        source = self.text[first.start : last.end].strip()
        if not source:
            raise Unsupported("missing expression")
        return "${" + source + "}"


def loads(text: str) -> dict[str, Any]:
    """Read HCL text into plain values; raises Unsupported for anything outside the subset."""
    if "%{" in text:
        raise Unsupported("template directive")
    return _Reader(text).body(None)
