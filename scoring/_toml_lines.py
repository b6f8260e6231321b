"""Find the line of a key in TOML text, so model-file errors point at the user's line.

tomllib gives values, not positions; this scans headers and `key =` lines, which is enough for the
hand-written files users edit (multi-line inline tables are located by their first line).
"""

from __future__ import annotations

import re

__all__ = ["key_lines", "line_of"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*=""")
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*""")

Path = tuple[str | int, ...]


def _dotted(text: str) -> list[str]:
    return [p.strip("\"'") for p in _PART.findall(text)]


def key_lines(text: str) -> dict[Path, int]:
    """Map every table, array-of-tables element and key path to its 1-based line number."""
    lines: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    current: Path = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header and not raw.lstrip().startswith(("#",)):
            names = _dotted(header.group(2))
            if header.group(1) == "[[":
                base = tuple(names)
                index = counts.get(base, 0)
                counts[base] = index + 1
                current = (*_resolve(names, counts), index)
            else:
                current = _resolve(names, counts)
            lines.setdefault(current, number)
            continue
        key = _KEY.match(raw)
        if key:
            lines.setdefault((*current, *_dotted(key.group(1))), number)
    return lines


def _resolve(names: list[str], counts: dict[tuple[str, ...], int]) -> Path:
    """Insert the latest array index after every prefix that is an array of tables."""
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        prefix = tuple(names[: i + 1])
        if prefix in counts and i < len(names) - 1:
            path.append(counts[prefix] - 1)
    return tuple(path)


def line_of(lines: dict[Path, int], loc: Path) -> int | None:
    """Line of the longest prefix of `loc` that appears in the file, or None."""
    for end in range(len(loc), 0, -1):
        found = lines.get(tuple(loc[:end]))
        if found is not None:
            return found
    return None
