"""The model description stays in step with the code."""

from __future__ import annotations

from pathlib import Path

from simulation.config.docs import schema_markdown, schema_rows


def odd_text(repo: Path) -> str:
    return (repo / "docs" / "ODD.md").read_text(encoding="utf-8")


def test_odd_parameter_table_matches_the_schema(repo: Path) -> None:
    text = odd_text(repo)
    start = text.index("<!-- schema:start -->") + len("<!-- schema:start -->")
    end = text.index("<!-- schema:end -->")
    assert text[start:end].strip() == schema_markdown().strip(), (
        "docs/ODD.md is out of date: paste `reluctant-army config --schema --markdown` "
        "between the schema markers"
    )


def test_every_parameter_has_a_description() -> None:
    undocumented = [row["key"] for row in schema_rows() if not row["description"]]
    assert undocumented == []


def test_every_decision_parameter_appears_in_the_choice_equations(repo: Path) -> None:
    text = odd_text(repo)
    equations = text[text.index("### 7.5 Choice") : text.index("### 7.6")]
    decision_keys = [row["key"] for row in schema_rows() if row["key"].startswith("decision.")]
    described_elsewhere = {
        "decision.detection_steepness",
        "decision.detection_ratio_rounding",
        "decision.external_enforcers_per_unit",
        "decision.commander_enforcer_weight",
        "decision.complicit_enforcer_weight",
        "decision.evasion_visibility",
        "decision.russia_alignment_weight",
        "decision.social_threshold_unit",
        "decision.enable_evasion",
    }
    missing = [
        key
        for key in decision_keys
        if key not in described_elsewhere and key.removeprefix("decision.") not in equations
    ]
    assert missing == []


def test_every_consequence_exit_and_career_parameter_is_described_in_the_text(repo: Path) -> None:
    text = odd_text(repo)
    prose = text[: text.index("<!-- schema:start -->")]
    sections = ("consequences.", "exit.", "career.")
    keys = [row["key"] for row in schema_rows() if row["key"].startswith(sections)]
    missing = [key for key in keys if key.rsplit(".", 1)[-1] not in prose]
    assert keys and missing == []


def test_every_expectation_attitude_dynamics_and_structure_parameter_is_described(
    repo: Path,
) -> None:
    text = odd_text(repo)
    prose = text[: text.index("<!-- schema:start -->")]
    sections = ("expectations.", "attitude_dynamics.", "structure.")
    keys = [row["key"] for row in schema_rows() if row["key"].startswith(sections)]
    keys += ["structure.unit_types.group_mix", "structure.unit_types.war_order_level"]
    missing = [key for key in keys if key.rsplit(".", 1)[-1] not in prose]
    assert missing == []


def test_every_personnel_parameter_and_the_mobilisation_driver_are_described(repo: Path) -> None:
    text = odd_text(repo)
    prose = text[: text.index("<!-- schema:start -->")]
    keys = [row["key"] for row in schema_rows() if row["key"].startswith("personnel.")]
    names = {key.rsplit(".", 1)[-1] for key in keys} | {"mobilisation"}
    assert keys and sorted(name for name in names if name not in prose) == []


def test_the_schema_docs_list_the_fields_of_every_category_and_unit_type() -> None:
    text = schema_markdown()
    for field in ("per_officer", "punishment_multiplier", "can_resign", "reserve"):
        assert f"`personnel.categories.<name>.{field}`" in text
    assert "`structure.unit_types.<name>.benefit_multiplier`" in text
    assert all("<name>" not in row["key"] for row in schema_rows())  # no levers, no priors
