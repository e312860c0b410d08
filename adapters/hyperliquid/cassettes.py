"""The response bodies of a vcrpy YAML cassette (the SDK's recorded ``/info`` answers), without a YAML library.

vcrpy writes each ``response.body.string`` as a YAML single-quoted scalar: ``''`` stands for ``'`` and long bodies
are folded over several indented lines, which YAML reads back as single spaces. Only that scalar form is read.
"""

from __future__ import annotations

import re
from pathlib import Path


class CassetteError(ValueError):
    """A cassette whose body cannot be read; the message names the file."""


_CASSETTE_BODY = re.compile(r"^[ \t]*string: '", re.MULTILINE)


def cassette_response_bodies(path: Path | str) -> list[str]:
    """Every ``response.body.string`` of a vcrpy YAML cassette, in file order (module docstring)."""
    text = Path(path).read_text(encoding="utf-8")
    return [_read_single_quoted(text, match.end(), path) for match in _CASSETTE_BODY.finditer(text)]


def _read_single_quoted(text: str, start: int, path: Path | str) -> str:
    """The scalar that opens just before ``start``: up to the first lone quote, with ``''`` read as ``'``."""
    pieces = []
    position = start
    while True:
        quote = text.find("'", position)
        if quote < 0:
            raise CassetteError(f"{Path(path).name}: unterminated quoted string at offset {start}")
        if text.startswith("''", quote):
            pieces.append(text[position : quote + 1])
            position = quote + 2
            continue
        pieces.append(text[position:quote])
        return _fold_yaml_lines("".join(pieces))


def _fold_yaml_lines(raw: str) -> str:
    """YAML flow folding: whitespace around a line break is dropped, one break becomes a space, and each further
    (empty) line becomes a newline."""
    lines = raw.split("\n")
    if len(lines) == 1:
        return raw
    folded = [lines[0].rstrip(" \t")]
    empty_lines = 0
    last = len(lines) - 1
    for index in range(1, len(lines)):
        content = lines[index].lstrip(" \t") if index == last else lines[index].strip(" \t")
        if not content and index != last:
            empty_lines += 1
            continue
        folded.append("\n" * empty_lines if empty_lines else " ")
        folded.append(content)
        empty_lines = 0
    return "".join(folded)
