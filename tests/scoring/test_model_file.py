"""Model files: the shipped ones load; every kind of mistake is named by file, key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.errors import ModelFileError
from scoring.model_file import load_model, parse_model

MODELS = Path(__file__).resolve().parents[2] / "models"

MINIMAL = """\
[model]
name = "m"
version = "1.0"

[[changelog]]
version = "1.0"
date = 2026-01-01
change = "first"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ModelFileError) as caught:
        parse_model(text, source="m.toml")
    assert "m.toml" in str(caught.value)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("name", ["baseline", "candidate"])
def test_shipped_models_load(name: str) -> None:
    spec = load_model(MODELS / f"{name}.toml")
    assert spec.model.name == name
    assert spec.version in [entry.version for entry in spec.changelog]


def test_minimal_model_gets_domain_defaults() -> None:
    spec = parse_model(MINIMAL)
    assert [b.min for b in spec.bands] == [0, 25, 50, 75]
    assert [t.name for t in spec.tiers] == ["A", "B", "C", "D"]
    assert spec.tiers[0].sla_hours == 2


def test_unknown_key_is_an_error_with_line_and_suggestion() -> None:
    text = MINIMAL + '\n[[fit.rules]]\nname = "x"\nfield = "industry"\nequals = "software"\npiont = 5\n'
    found = problems(text)
    assert any("fit.rules[0].piont" in p and "line 14" in p and "'points'" in p for p in found), found


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="nope.toml.*no such file"):
        load_model(tmp_path / "nope.toml")


def test_toml_syntax_error_names_the_line() -> None:
    found = problems(MINIMAL + "\n[fit\n")
    assert any("(syntax)" in p and "line 10" in p for p in found), found


def test_wrong_type_names_the_key_and_value() -> None:
    found = problems(MINIMAL.replace('name = "m"', 'name = "m"\ndescription = 3'))
    assert any("model.description" in p and "line 3" in p for p in found), found


def test_all_problems_are_reported_at_once() -> None:
    text = MINIMAL + """
[scoring]
weights = { fit = 0.5, behaviour = 0.6, account = 0.0 }

[[fit.rules]]
name = "a"
field = "industry"
equals = "software"
regex = "soft"
points = 5

[[fit.rules]]
name = "b"
field = "employees"
between = [500, 100]
points = 5

[[bands]]
name = "low"
min = 10
"""
    found = problems(text)
    joined = "\n".join(found)
    assert "add up to 1.1" in joined
    assert "fit.rules[0]" in joined and "exactly one matcher" in joined
    assert "fit.rules[1].between" in joined and "above upper end" in joined
    assert "bands[0].min" in joined and "start at 0" in joined
    assert len(found) >= 4


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('\n[[fit.rules]]\nname = "r"\nfield = "title"\nregex = "(unclosed"\npoints = 1\n', "not a valid regular expression"),
        ('\n[[fit.rules]]\nname = "r"\nequals = "x"\npoints = 1\n', "required key is missing"),
        ('\n[[negative.rules]]\nname = "n"\nevent = "unsubscribe"\nfield = "email"\npoints = -5\n', "event rule takes no field"),
        ('\n[[negative.rules]]\nname = "n"\nevent = "unsubscribe"\npoints = 5\n', "less than or equal to 0"),
        ('\n[[behaviour.actions]]\nevent = "demo"\npoints = 5\ndecay = { kind = "exponential" }\n', "half_life_days"),
        ('\n[[behaviour.actions]]\nevent = "demo"\npoints = 5\ndecay = { kind = "linear" }\n', "decay"),
        ('\n[[behaviour.actions]]\nevent = "demo"\npoints = 5\n[[behaviour.actions]]\nevent = "demo"\npoints = 3\n', "used twice"),
        ('\n[behaviour.inactivity]\nsteps = [{ after_days = 60, multiplier = 0.5 }, { after_days = 30, multiplier = 0.8 }]\n', "rising `after_days`"),
        ('\n[[account.signals]]\nname = "s"\nevent = "rfp"\nengaged_people = 3\npoints = 5\n', "exactly one of event"),
        ('\n[[tiers]]\nname = "A"\nmin_score = 50\n[[tiers]]\nname = "B"\nmin_score = 75\n', "falling `min_score`"),
        ('\n[[tiers]]\nname = "A"\nmin_score = 50\n', "last tier must start at 0"),
        ('\n[thresholds]\nmql = 120\n', "less than or equal to 100"),
        ('\n[fields.salesforce]\nowner = "OwnerId"\n', "not a score column"),
        ('\n[fields.salesforce]\ntotal = "Lead Score"\n', "letters, digits and _"),
    ],
)
def test_each_validation_error_is_explained(snippet: str, expected: str) -> None:
    found = problems(MINIMAL + snippet)
    assert any(expected in p for p in found), found


def test_version_without_changelog_entry_is_an_error() -> None:
    found = problems(MINIMAL.replace('version = "1.0"\n\n', 'version = "1.1"\n\n', 1))
    assert any("changelog" in p and "1.1" in p for p in found), found
