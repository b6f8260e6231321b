"""Checks that span several keys of a parsed model file; each returns every problem it finds."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from scoring.fields import SCORE_FIELD_KINDS
from scoring.model import Matcher, ModelSpec, NegativeRule

__all__ = ["model_problems"]

Loc = tuple[str | int, ...]
_MATCHERS = ("equals", "in_", "between", "regex", "missing")
_ALIASES = {"in_": "in"}


def model_problems(spec: ModelSpec) -> list[tuple[Loc, str]]:
    """Every cross-key problem of a parsed model as (location, message) pairs; empty when sound."""
    return [
        *_matcher_problems(spec),
        *_name_problems(spec),
        *_pillar_problems(spec),
        *_band_problems(spec),
        *_tier_problems(spec),
        *_inactivity_problems(spec),
        *_account_problems(spec),
        *_field_problems(spec),
        *_changelog_problems(spec),
    ]


def _set_matchers(rule: Matcher | NegativeRule) -> list[str]:
    return [_ALIASES.get(m, m) for m in _MATCHERS if getattr(rule, m) is not None]


def _matcher_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    rules: list[tuple[Loc, Matcher | NegativeRule]] = [
        (("fit", "rules", i), r) for i, r in enumerate(spec.fit.rules)
    ]
    rules += [(("negative", "rules", i), r) for i, r in enumerate(spec.negative.rules)]
    for loc, rule in rules:
        kinds = _set_matchers(rule)
        if isinstance(rule, NegativeRule) and rule.event is not None:
            if rule.field is not None or kinds:
                yield loc, "an event rule takes no field or matcher; use either `event` or `field` + one matcher"
            continue
        if rule.field is None:
            yield loc, "needs `field` and one matcher (equals, in, between, regex, missing), or `event`"
            continue
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            yield loc, f"needs exactly one matcher of equals, in, between, regex, missing (found: {found})"
        if rule.between is not None and rule.between[0] > rule.between[1]:
            yield (*loc, "between"), f"lower end {rule.between[0]} is above upper end {rule.between[1]}"
        if rule.regex is not None:
            try:
                re.compile(rule.regex)
            except re.error as exc:
                yield (*loc, "regex"), f"not a valid regular expression: {exc}"
        if rule.missing is False:
            yield (*loc, "missing"), "only `missing = true` is meaningful; drop the key otherwise"


def _duplicates(names: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    return {n for n in names if n in seen or seen.add(n)}  # type: ignore[func-returns-value]


def _name_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    groups: list[tuple[str, str, list[str]]] = [
        ("fit", "rules", [r.name for r in spec.fit.rules]),
        ("behaviour", "actions", [a.name or a.event for a in spec.behaviour.actions]),
        ("negative", "rules", [r.name for r in spec.negative.rules]),
        ("account", "signals", [s.name for s in spec.account.signals]),
    ]
    for section, key, names in groups:
        for dup in sorted(_duplicates(names)):
            index = names.index(dup, names.index(dup) + 1)
            hint = " (give one a `name`)" if key == "actions" else ""
            yield (section, key, index), f"name {dup!r} is used twice; names must be unique{hint}"


def _pillar_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    w = spec.scoring.weights
    total = w.fit + w.behaviour + w.account
    if spec.scoring.combine == "weighted" and abs(total - 1.0) > 1e-6:
        yield ("scoring", "weights"), (
            f"fit + behaviour + account weights add up to {total:g}; they must add up to 1"
        )


def _band_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    mins = [b.min for b in spec.bands]
    if not mins:
        yield ("bands",), "at least one band is needed"
        return
    if mins[0] != 0:
        yield ("bands", 0, "min"), f"the first band must start at 0 (it starts at {mins[0]:g})"
    for i in range(1, len(mins)):
        if mins[i] <= mins[i - 1]:
            yield ("bands", i, "min"), "bands must be listed from low to high with rising `min`"
    for dup in sorted(_duplicates([b.name for b in spec.bands])):
        yield ("bands",), f"band name {dup!r} is used twice"


def _tier_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    mins = [t.min_score for t in spec.tiers]
    if not mins:
        yield ("tiers",), "at least one tier is needed"
        return
    for i in range(1, len(mins)):
        if mins[i] >= mins[i - 1]:
            yield ("tiers", i, "min_score"), "tiers must be listed from high to low with falling `min_score`"
    if mins[-1] != 0:
        yield ("tiers", len(mins) - 1, "min_score"), "the last tier must start at 0 so every lead has a tier"
    for dup in sorted(_duplicates([t.name for t in spec.tiers])):
        yield ("tiers",), f"tier name {dup!r} is used twice"


def _inactivity_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    steps = spec.behaviour.inactivity.steps
    for i in range(1, len(steps)):
        if steps[i].after_days <= steps[i - 1].after_days:
            yield ("behaviour", "inactivity", "steps", i, "after_days"), "steps must have rising `after_days`"
        if steps[i].multiplier > steps[i - 1].multiplier:
            yield ("behaviour", "inactivity", "steps", i, "multiplier"), (
                "a longer silence cannot be penalised less; multipliers must not rise"
            )


def _account_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    for i, signal in enumerate(spec.account.signals):
        triggers = [k for k in ("event", "department", "engaged_people", "departments_engaged")
                    if getattr(signal, k) is not None]
        if len(triggers) != 1:
            found = ", ".join(triggers) if triggers else "none"
            yield ("account", "signals", i), (
                f"needs exactly one of event, department, engaged_people, departments_engaged (found: {found})"
            )
    for key, weight in spec.account.seniority_weights.items():
        if weight < 0:
            yield ("account", "seniority_weights", key), f"weight {weight:g} is negative"


def _field_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    allowed = ", ".join(SCORE_FIELD_KINDS)
    for crm, mapping in spec.fields.items():
        for column, name in mapping.items():
            if column not in SCORE_FIELD_KINDS:
                yield ("fields", crm, column), f"{column!r} is not a score column; allowed: {allowed}"
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                yield ("fields", crm, column), f"field name {name!r} must be letters, digits and _"
        names = list(mapping.values())
        for dup in sorted(_duplicates(names)):
            yield ("fields", crm), f"CRM field {dup!r} is mapped twice"


def _changelog_problems(spec: ModelSpec) -> Iterator[tuple[Loc, str]]:
    versions = [entry.version for entry in spec.changelog]
    if spec.model.version not in versions:
        yield ("changelog",), (
            f"no entry for version {spec.model.version!r}; add a [[changelog]] entry saying what changed"
        )
