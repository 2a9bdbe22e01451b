"""YAML documents as plain Python values that remember the line of every key and item."""

from __future__ import annotations

from typing import Any

import yaml

try:  # the C parser is ~10x faster; the pure-Python one gives the same nodes
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is present in our builds
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


_STR_TAG = "tag:yaml.org,2002:str"


class LineDict(dict[Any, Any]):
    """A mapping that also records `line` (its own first line) and `lines[key]` (1-based)."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        """The line of `key`, or of the mapping when the key is absent."""
        return self.lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that also records `line` and `lines[index]` (1-based)."""

    __slots__ = ("line", "lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        """The line of item `index`."""
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _Builder:
    """Turns composed nodes into LineDict/LineList/scalars; shared anchors stay shared."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        # keyed by id(node); the node is kept in the value so its id cannot be reused by another node
        self._built: dict[int, tuple[yaml.Node, Any]] = {}

    def build(self, node: yaml.Node) -> Any:
        cached = self._built.get(id(node))
        if cached is not None:
            return cached[1]
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            mapping = LineDict(line)
            self._built[id(node)] = (node, mapping)
            # flatten_mapping applies YAML merge keys (<<: *anchor) the way the safe constructor does
            self._loader.flatten_mapping(node)
            for key_node, value_node in node.value:
                key = self.build(key_node)
                if isinstance(key, (dict, list)):
                    key = str(key)
                mapping[key] = self.build(value_node)
                mapping.lines[key] = key_node.start_mark.line + 1
            return mapping
        if isinstance(node, yaml.SequenceNode):
            sequence = LineList(line)
            self._built[id(node)] = (node, sequence)
            for item in node.value:
                sequence.append(self.build(item))
                sequence.lines.append(item.start_mark.line + 1)
            return sequence
        if node.tag == _STR_TAG:
            return node.value  # the common case, without the constructor's bookkeeping
        try:
            value = self._loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            value = node.value
        # timestamps and binary become text: the checks compare strings, and dates have no bearing here
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            value = str(node.value)
        return value


def load_documents(text: str) -> list[Any]:
    """Parse every document of a YAML stream; raises yaml.YAMLError on malformed input."""
    loader = _Loader(text)
    try:
        documents: list[Any] = []
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            # anchors do not cross documents, so each document gets a fresh builder
            documents.append(_Builder(loader).build(node))
        return documents
    finally:
        loader.dispose()


def line_of(container: Any, key: Any, default: int | None = None) -> int | None:
    """The line of `key` in a LineDict/LineList, or `default` for plain values."""
    if isinstance(container, LineDict):
        return container.lines.get(key, container.line)
    if isinstance(container, LineList) and isinstance(key, int):
        return container.line_of(key)
    return default


def dig(mapping: Any, *path: str) -> Any:
    """Follow keys through nested mappings; None when any step is missing."""
    current = mapping
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current
