"""Priors: every assumption has one, the file is validated like a config, draws are right."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from simulation.config.docs import priors_markdown, schema_text
from simulation.config.loading import load_config, validate_config
from simulation.config.priors import (
    get_value,
    load_priors,
    missing_priors,
    priors_from_dict,
)
from simulation.errors import ConfigError


@pytest.fixture(scope="module")
def priors():
    return load_priors()


def raw_priors(repo: Path) -> dict[str, Any]:
    return yaml.safe_load((repo / "configs" / "priors.yaml").read_text(encoding="utf-8"))


def test_every_assumed_number_has_a_prior_or_a_reason_to_stay_fixed(priors) -> None:
    missing = missing_priors(priors)
    assert missing == [], (
        "these assumed numbers (the schema calls them assumptions) have no prior in "
        f"configs/priors.yaml: {', '.join(missing)}. Give each a distribution, range and "
        "reason under 'priors', or say under 'fixed' why it is not assumed."
    )


def test_a_removed_prior_is_reported_by_its_key(repo: Path) -> None:
    data = raw_priors(repo)
    del data["priors"]["decision.social_weight"]
    del data["priors"]["population.group_shares"]
    missing = missing_priors(priors_from_dict(data))
    assert missing == [
        "population.group_shares.complicit",
        "population.group_shares.passive",
        "population.group_shares.dissenting",
        "decision.social_weight",
    ]


def test_the_odd_priors_table_matches_the_priors_file(repo: Path, priors) -> None:
    text = (repo / "docs" / "ODD.md").read_text(encoding="utf-8")
    start = text.index("<!-- priors:start -->") + len("<!-- priors:start -->")
    end = text.index("<!-- priors:end -->")
    assert text[start:end].strip() == priors_markdown(priors).strip(), (
        "docs/ODD.md is out of date: paste `reluctant-army config --priors --markdown` "
        "between the priors markers"
    )


def test_the_schema_printout_shows_each_prior_under_its_parameter(priors) -> None:
    lines = schema_text(priors).splitlines()
    row = lines.index(next(line for line in lines if line.startswith("decision.temperature:")))
    assert lines[row + 2] == "    prior: loguniform(0.005, 0.2)"
    assert "    fixed 0: Peacetime" in "\n".join(lines)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"decision.social_wieght": {"dist": "uniform", "low": 0, "high": 1, "reason": "x"}},
            "priors.decision.social_wieght: unknown config key 'decision.social_wieght' "
            "(did you mean 'decision.social_weight'?)",
        ),
        (
            {"decision.social_weight": {"dist": "gamma", "low": 0, "high": 1, "reason": "x"}},
            "priors.decision.social_weight.dist: Input should be 'uniform', 'loguniform'",
        ),
        (
            {"decision.social_weight": {"dist": "triangular", "low": 0, "high": 1, "reason": "x"}},
            "priors.decision.social_weight: a triangular prior needs mode",
        ),
        (
            {"decision.social_weight": {"dist": "uniform", "low": 0.5, "high": 1, "reason": "x"}},
            "priors.decision.social_weight: the range [0.5, 1] excludes the default 0.3",
        ),
        (
            {
                "decision.evasion_visibility": {
                    "dist": "uniform",
                    "low": 0.1,
                    "high": 1.5,
                    "reason": "x",
                }
            },
            "priors.decision.evasion_visibility: the range [0.1, 1.5] goes where the config "
            "does not allow (Input should be less than or equal to 1",
        ),
        (
            {
                "drivers.regime_stability": {
                    "dist": "uniform",
                    "low": 0.5,
                    "high": 0.9,
                    "reason": "x",
                }
            },
            "priors.drivers.regime_stability: a driver's prior must say how it moves",
        ),
        (
            {"decision.social_weight": {"dist": "uniform", "low": 0.1, "high": 0.6}},
            "priors.decision.social_weight.reason: required key is missing",
        ),
        (
            {
                "population.group_shares": {
                    "dist": "dirichlet",
                    "concentration": 10,
                    "center": {"complicit": 0.5, "passive": 0.5},
                    "reason": "x",
                }
            },
            "priors.population.group_shares.center: center must give a share for each of",
        ),
        (
            {
                "decision.social_weight": {
                    "dist": "beta",
                    "low": 0,
                    "high": 1,
                    "mean": 0.3,
                    "sd": 0.6,
                    "reason": "x",
                }
            },
            "priors.decision.social_weight: sd 0.6 too large for a beta",
        ),
    ],
)
def test_a_bad_prior_is_one_line_naming_the_file_and_key(
    repo: Path, change: dict[str, Any], expected: str
) -> None:
    data = raw_priors(repo)
    data["priors"].update(change)
    with pytest.raises(ConfigError) as caught:
        priors_from_dict(data, "configs/priors.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("configs/priors.yaml: " + expected), message


def test_an_unknown_top_level_key_is_named(repo: Path) -> None:
    data = raw_priors(repo)
    data["prior"] = {}
    with pytest.raises(ConfigError, match=r"^p\.yaml: prior: unknown key 'prior'"):
        priors_from_dict(data, "p.yaml")


def test_a_key_both_drawn_and_fixed_is_refused(repo: Path) -> None:
    data = raw_priors(repo)
    data["fixed"]["decision.temperature"] = "no"
    with pytest.raises(ConfigError, match="fixed.decision.temperature: has a prior too"):
        priors_from_dict(data, "p.yaml")


def test_the_same_seed_gives_the_same_draws(priors) -> None:
    first = priors.sample(np.random.default_rng(5), 20)
    second = priors.sample(np.random.default_rng(5), 20)
    assert first == second
    assert first != priors.sample(np.random.default_rng(6), 20)


def test_draws_stay_in_range_and_shares_sum_to_one(priors) -> None:
    draws = priors.sample(np.random.default_rng(0), 500)
    for key, prior in priors.priors.items():
        values = np.array([[draw[c] for c in prior.columns] for draw in draws])
        if prior.components:
            assert np.allclose(values.sum(axis=1), 1.0), key
            assert (values >= 0).all(), key
        else:
            assert values.min() >= prior.spec.low and values.max() <= prior.spec.high, key
            if prior.spec.integer:
                assert (values == np.round(values)).all(), key


def test_unit_cube_points_map_to_the_prior_distribution(priors) -> None:
    cube = np.random.default_rng(1).random((4000, priors.unit_dimensions))
    mapped = priors.from_unit(cube)
    sampled = priors.sample(np.random.default_rng(2), 4000)
    for column in (
        "decision.temperature",
        "population.group_shares.complicit",
        "population.group_shares.dissenting",
        "structure.unit_size",
    ):
        a = np.array([row[column] for row in mapped])
        b = np.array([row[column] for row in sampled])
        assert abs(np.median(a) - np.median(b)) < 0.05 * (b.max() - b.min()), column
        assert abs(a.std() - b.std()) < 0.1 * b.std(), column
    shares = np.array(
        [
            [row[f"population.group_shares.{g}"] for g in ("complicit", "passive", "dissenting")]
            for row in mapped
        ]
    )
    assert np.allclose(shares.sum(axis=1), 1.0)


def test_the_joint_density_is_finite_inside_and_zero_outside(priors) -> None:
    draw = priors.sample(np.random.default_rng(3), 1)[0]
    assert math.isfinite(priors.log_density(draw))
    outside = dict(draw, **{"decision.temperature": 0.5})
    assert priors.log_density(outside) == -math.inf
    unnormalised = dict(draw, **{"population.group_shares.complicit": 0.9})
    assert priors.log_density(unnormalised) == -math.inf


def test_most_prior_draws_give_valid_configs(priors) -> None:
    base = load_config("configs/scenarios/regime_wobble.yaml").to_dict()
    invalid = 0
    for draw in priors.sample(np.random.default_rng(4), 200):
        try:
            validate_config(priors.apply(base, draw))
        except ConfigError:
            invalid += 1
    assert invalid <= 10


def test_a_shift_prior_moves_the_whole_schedule(priors) -> None:
    base = load_config("configs/scenarios/regime_wobble.yaml").to_dict()
    stability = priors.select(["drivers.regime_stability"])
    changed = stability.apply(base, {"drivers.regime_stability": 0.7})
    assert changed["drivers"]["regime_stability"] == [
        {"step": 0, "value": pytest.approx(0.7)},
        {"step": 24, "value": pytest.approx(0.3)},
    ]
    assert base["drivers"]["regime_stability"][0]["value"] == 0.8


def test_a_scale_prior_keeps_a_surge_proportional(priors) -> None:
    base = load_config("configs/scenarios/propaganda_surge.yaml").to_dict()
    propaganda = priors.select(["drivers.russian_propaganda"])
    changed = propaganda.apply(base, {"drivers.russian_propaganda": 0.004})
    assert changed["drivers"]["russian_propaganda"] == pytest.approx(0.04)


def test_list_entries_are_overridden_through_their_whole_list(priors) -> None:
    base = copy.deepcopy(load_config(None).to_dict())
    costs = priors.select(["decision.order_moral_cost.3", "decision.order_moral_cost.1"])
    overrides = costs.overrides(
        base, {"decision.order_moral_cost.3": 3.0, "decision.order_moral_cost.1": 0.1}
    )
    assert overrides == {"decision.order_moral_cost": [0.0, 0.1, 0.8, 3.0]}
    config = load_config(None, overrides)
    assert get_value(config.to_dict(), "decision.order_moral_cost.3") == 3.0


def test_a_scenario_that_sets_an_assumption_keeps_it(priors) -> None:
    data = load_config(None, {"decision.social_weight": 0.55}).to_dict()
    assert priors.explicit_in(data) == ["decision.social_weight"]
    assert priors.explicit_in(load_config("configs/baseline.yaml").to_dict()) == []
