"""Load a model file: TOML text -> validated ModelSpec, with every problem named by file, key and line."""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from scoring import model as schema
from scoring._toml_lines import key_lines, line_of
from scoring.errors import ConfigFileError, ModelFileError, ModelProblem
from scoring.model import ModelSpec
from scoring.model_checks import model_problems

__all__ = ["config_text", "load_model", "parse_model", "model_hash"]

_DECAY_TAGS = {"exponential", "step", "none"}


def config_text(path: Path, error: type[ConfigFileError]) -> str:
    """The UTF-8 text of a user's TOML file; a missing or unreadable file raises `error` naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(str(path), [ModelProblem("(file)", "no such file; check the path")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(str(path), [ModelProblem("(file)", f"cannot be read: {exc}")]) from None


def load_model(path: str | Path) -> ModelSpec:
    """Read and validate the model file at `path`; raise ModelFileError listing every problem."""
    file = Path(path)
    return parse_model(config_text(file, ModelFileError), source=str(file))


def parse_model(text: str, source: str = "<model>") -> ModelSpec:
    """Validate model-file text; `source` names the file in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        message = getattr(exc, "msg", str(exc))
        raise ModelFileError(source, [ModelProblem("(syntax)", f"not valid TOML: {message}", line)]) from None
    lines = key_lines(text)
    try:
        spec = ModelSpec.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(error, data, lines) for error in exc.errors()]
        raise ModelFileError(source, problems) from None
    found = model_problems(spec)
    if found:
        problems = [ModelProblem(_dotted(loc), message, line_of(lines, loc)) for loc, message in found]
        raise ModelFileError(source, problems)
    return spec


def model_hash(text: str) -> str:
    """Short SHA-256 of a model file's bytes, recorded with shadow runs and approvals."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _problem(error: Any, data: dict[str, Any], lines: dict[tuple[str | int, ...], int]) -> ModelProblem:
    loc = tuple(part for i, part in enumerate(error["loc"]) if not _is_union_tag(error["loc"], i))
    kind = error["type"]
    if kind == "extra_forbidden":
        unknown = str(loc[-1])
        close = difflib.get_close_matches(unknown, _known_keys(), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        message = f"unknown key {unknown!r}{hint} (a typo must not silently change a model)"
    elif kind == "missing":
        message = "required key is missing"
    else:
        message = f"{error['msg']} (got {error.get('input')!r})"
    return ModelProblem(_dotted(loc), message, line_of(lines, loc))


def _is_union_tag(loc: tuple[Any, ...], index: int) -> bool:
    return index > 0 and loc[index - 1] == "decay" and loc[index] in _DECAY_TAGS


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _known_keys() -> list[str]:
    keys: set[str] = set()
    for value in vars(schema).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for name, field in value.model_fields.items():
                keys.add(field.alias or name)
    return sorted(keys)
