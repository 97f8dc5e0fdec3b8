"""Simulation-based calibration's bookkeeping, on a problem whose posterior is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulation.analysis.sbc import plot_ranks, posterior_rank, sbc_summary, sbc_table


def conjugate_sbc(truths: int, sd_factor: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Normal mean with a normal prior (two parameters in two groups): truths from the prior,
    data given each truth, posterior draws from the exact posterior (its sd times
    `sd_factor`: 1 is right, below 1 overconfident)."""
    rng = np.random.default_rng(seed)
    noise, observations = 1.0, 4
    chosen, posteriors = [], []
    for _ in range(truths):
        truth = {"a.mean": rng.normal(0, 1), "b.mean": rng.normal(0, 1)}
        posterior = {}
        for name, value in truth.items():
            data = rng.normal(value, noise, observations)
            precision = 1 + observations / noise**2
            mean = data.sum() / noise**2 / precision
            posterior[name] = rng.normal(mean, sd_factor / np.sqrt(precision), 400)
        frame = pd.DataFrame(posterior)
        frame["weight"] = rng.uniform(0.5, 1.5, 400)  # uneven weights, as ABC particles
        chosen.append(truth)
        posteriors.append(frame)
    return sbc_table(chosen, posteriors, {"a.mean": 1.0, "b.mean": 1.0})


def test_a_truth_s_rank_is_the_posterior_mass_below_it() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert posterior_rank(values, np.array([1, 1, 1, 1]), 2.5) == 0.5
    assert posterior_rank(values, np.array([3, 1, 0, 0]), 2.5) == 1.0
    assert posterior_rank(values, np.array([1, 1, 1, 1]), 2.0) == 0.375


def test_an_exact_posterior_covers_its_intervals_at_their_levels() -> None:
    summary = sbc_summary(conjugate_sbc(400))
    for _, row in summary.iterrows():
        assert 0.43 <= row["covered_50"] <= 0.57, row["name"]
        assert 0.86 <= row["covered_90"] <= 0.94, row["name"]
        assert row["rank_uniformity_p"] > 0.01, row["name"]
        assert 0.7 < row["mean_shrinkage"] < 0.9  # 1 - 1/5 = 0.8, the exact shrinkage


def test_an_overconfident_posterior_fails_the_check() -> None:
    overall = sbc_summary(conjugate_sbc(400, sd_factor=0.4)).query("scope == 'all'").iloc[0]
    assert overall["covered_90"] < 0.6
    assert overall["rank_uniformity_p"] < 1e-6


def test_the_summary_has_rows_per_parameter_per_group_and_overall() -> None:
    summary = sbc_summary(conjugate_sbc(20))
    assert list(summary["scope"]) == ["parameter", "parameter", "group", "group", "all"]
    assert list(summary["name"]) == ["a.mean", "b.mean", "a", "b", "all"]


def test_the_rank_histograms_are_drawn(tmp_path: Path) -> None:
    plot_ranks(conjugate_sbc(20), tmp_path / "ranks.png")
    assert (tmp_path / "ranks.png").read_bytes()[:4] == b"\x89PNG"


def test_calibrate_check_runs_the_procedure_on_truths_and_writes_its_figures(
    tmp_path: Path, capsys
) -> None:
    import yaml

    from simulation.cli import main

    repo = Path(__file__).resolve().parent.parent
    fight = str(repo / "configs" / "scenarios" / "fight_order.yaml")
    targets = {
        "name": "tiny",
        "parameters": ["decision.order_moral_cost.3"],
        "overrides": {"population.n_officers": 40, "steps": 3},
        "abc": {"population_size": 10, "generations": 1, "seed": 1},
        "targets": {
            "refusal": {
                "source": "simulated",
                "figure": "simulated",
                "analogy": "none: a test",
                "config": fight,
                "overrides": {"drivers.war_order_level": 3},
                "output": "refuse",
                "value": 0.2,
                "tolerance": 0.1,
            }
        },
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(targets))
    out = tmp_path / "sbc"
    code = main(
        [
            "calibrate",
            str(path),
            "--check",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "50% intervals cover" in printed and "least effective sample size" in printed
    table = pd.read_csv(out / "sbc.csv")
    assert len(table) == 2 and table["rank"].between(0, 1).all()
    assert (table["truth_design"] == "latin_hypercube").all()  # the default design
    assert table["prior_rank"].between(0, 1).all()
    shares = table["ess_share_by_generation"].astype(str).str.split()
    assert (shares.str.len() == table["generations"]).all()
    assert "least effective sample size share by generation, over the truths: 0:" in printed
    assert (out / "sbc_ranks.png").is_file() and (out / "sbc_summary.csv").is_file()


def test_the_check_records_every_generation_s_ess_share_and_its_least_over_truths() -> None:
    from simulation.analysis.sbc import least_ess_by_generation

    table = pd.DataFrame(
        {
            "truth_index": [0, 0, 1, 1, 2],
            "parameter": ["a", "b", "a", "b", "a"],
            "ess_share_by_generation": [
                "1.000 0.600 0.450",
                "1.000 0.600 0.450",
                "1.000 0.350",
                "1.000 0.350",
                "0.900 0.700 0.500",
            ],
        }
    )
    assert least_ess_by_generation(table) == [0.9, 0.35, 0.45]


def anchors_priors():
    from simulation.config.targets import load_targets

    repo = Path(__file__).resolve().parent.parent
    return load_targets(repo / "configs" / "targets" / "anchors.yaml").priors


def test_latin_hypercube_truths_put_one_truth_in_each_stratum_of_a_prior() -> None:
    from simulation.analysis.sbc import truth_candidates

    truths = truth_candidates(anchors_priors(), 20, "latin_hypercube", np.random.default_rng(3))
    spread = np.array([truth["decision.taste_sd"] for truth in truths])  # uniform(0, 0.12)
    assert sorted(np.floor(spread / 0.12 * 20).astype(int)) == list(range(20))


def test_an_unknown_truth_design_is_refused() -> None:
    import pytest

    from simulation.analysis.sbc import truth_candidates

    with pytest.raises(ValueError, match="latin_hypercube"):
        truth_candidates(anchors_priors(), 5, "sobol", np.random.default_rng(0))


def posterior_equal_to_prior_sbc(design: str, seed: int) -> pd.DataFrame:
    """SBC bookkeeping where every posterior is the prior itself: the case where the
    targets teach nothing, the anchors' case (shrinkage about 0.05)."""
    from simulation.analysis.sbc import truth_candidates

    priors = anchors_priors()
    rng = np.random.default_rng(seed)
    prior_draws = pd.DataFrame(priors.sample(rng, 4000))
    posterior = prior_draws.assign(weight=1.0)
    truths = truth_candidates(priors, 20, design, rng)
    variance = {column: float(prior_draws[column].var()) for column in priors.columns}
    return sbc_table(truths, [posterior] * 20, variance, prior_draws=prior_draws)


def test_a_posterior_equal_to_its_prior_covers_exactly_as_the_prior_does() -> None:
    table = posterior_equal_to_prior_sbc("random", seed=1)
    assert (table["covered_50"] == table["prior_covered_50"]).all()
    assert (table["covered_90"] == table["prior_covered_90"]).all()
    assert np.allclose(table["rank"], table["prior_rank"])


def test_latin_hypercube_truths_keep_the_draw_of_truths_out_of_the_coverage() -> None:
    """With a posterior equal to its prior a truth is covered when its prior quantile is in
    the central interval; 20 designed truths always give 50 %, 20 random ones scatter."""
    from simulation.analysis.sbc import truth_candidates

    priors = anchors_priors()
    spread = {}
    for design in ("latin_hypercube", "random"):
        coverages = []
        for seed in range(30):
            truths = truth_candidates(priors, 20, design, np.random.default_rng(seed))
            quantiles = np.array([truth["decision.taste_sd"] / 0.12 for truth in truths])
            coverages.append(np.mean((quantiles >= 0.25) & (quantiles <= 0.75)))
        spread[design] = np.ptp(coverages)
    assert spread["latin_hypercube"] == 0.0
    assert spread["random"] >= 0.3  # 20 independent truths: about 11 points sd


def test_the_summary_prints_the_prior_s_own_coverage_of_the_truths() -> None:
    from simulation.analysis.sbc import format_summary

    text = format_summary(sbc_summary(posterior_equal_to_prior_sbc("latin_hypercube", 0)))
    assert "the prior's own intervals would cover these truths" in text
