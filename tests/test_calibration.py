"""Calibration by ABC-SMC: targets files, the procedure, its posterior, and trust in it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simulation import calibrate, load_targets, recovery_study, run_ensemble
from simulation.cli import main
from simulation.config.targets import targets_from_dict
from simulation.errors import ConfigError, ResultsError

REPO = Path(__file__).resolve().parent.parent
FIGHT = {
    "config": "configs/scenarios/fight_order.yaml",
    "overrides": {"drivers.war_order_level": 3, "steps": 6},
}
SIMULATED = {"source": "simulated", "figure": "simulated", "analogy": "none: a test"}


def tiny_targets(**changes: Any) -> dict[str, Any]:
    """Two parameters, two targets on one scenario, 80 officers for 6 months."""
    data: dict[str, Any] = {
        "name": "tiny",
        "parameters": ["decision.order_moral_cost.3", "population.group_shares"],
        "overrides": {"population.n_officers": 80},
        "abc": {"population_size": 24, "generations": 2, "seed": 3},
        "predictive_draws": 4,
        "targets": {
            "refusal": {**SIMULATED, **FIGHT, "output": "refuse", "value": 0.2, "tolerance": 0.05},
            "ratio": {
                **SIMULATED,
                **FIGHT,
                "output": "evade / refuse",
                "value": 3.0,
                "scale": "log",
                "tolerance": 0.5,
                "weight": 0.5,
            },
        },
        "checks": {
            "support_role_complies": {
                "description": "pattern 1",
                "config": "configs/scenarios/status_quo.yaml",
                "overrides": {"steps": 4},
                "output": "comply",
                "above": 0.9,
            }
        },
    }
    data.update(changes)
    return data


def build(data: dict[str, Any]):
    return targets_from_dict(data, "t.yaml", REPO)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("calibration") / "tiny"
    return calibrate(build(tiny_targets()), out=out, workers=1, progress=False)


# ---------------------------------------------------------------------------- targets files


def test_the_shipped_anchors_are_documented_targets() -> None:
    targets = load_targets(REPO / "configs" / "targets" / "anchors.yaml")
    assert len(targets.targets) >= 4
    for target in targets.targets:
        for text in (target.spec.source, target.spec.figure, target.spec.analogy):
            assert len(text) > 20, target.name
        assert target.spec.tolerance > 0 and target.spec.weight > 0
    assert len(targets.checks) >= 4


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"parameters": ["decision.social_wieght"]},
            "parameters.0: 'decision.social_wieght' has no prior in .*priors.yaml "
            r"\(did you mean 'decision.social_weight'\?\)",
        ),
        (
            {
                "targets": {
                    "x": {**SIMULATED, **FIGHT, "output": "refusal", "value": 0.2, "tolerance": 0.1}
                }
            },
            r"targets.x.output: unknown metric 'refusal' \(did you mean 'refuse'\?\)",
        ),
        (
            {
                "targets": {
                    "x": {
                        **SIMULATED,
                        **FIGHT,
                        "output": "refuse",
                        "value": 0.2,
                        "statistic": "last",
                        "tolerance": 0.1,
                    }
                }
            },
            "targets.x.statistic: unknown statistic 'last'",
        ),
        (
            {
                "targets": {
                    "x": {
                        **FIGHT,
                        "figure": "f",
                        "analogy": "a",
                        "output": "refuse",
                        "value": 0.2,
                        "tolerance": 0.1,
                    }
                }
            },
            "targets.x.source: required key is missing",
        ),
        (
            {
                "targets": {
                    "x": {
                        **SIMULATED,
                        **FIGHT,
                        "output": "refuse",
                        "value": 0.0,
                        "scale": "log",
                        "tolerance": 0.1,
                    }
                }
            },
            "targets.x.value: a log scale needs a value above 0",
        ),
        (
            {
                "targets": {
                    "x": {
                        **SIMULATED,
                        "config": "nope.yaml",
                        "output": "refuse",
                        "value": 0.2,
                        "tolerance": 0.1,
                    }
                }
            },
            "targets.x.config: config not found: .*nope.yaml",
        ),
        (
            {
                "targets": {
                    "x": {**SIMULATED, **FIGHT, "output": "refuse", "value": 0.2, "tolerance": 0.0}
                }
            },
            "targets.x.tolerance: Input should be greater than 0",
        ),
        (
            {
                "checks": {
                    "c": {
                        "description": "d",
                        "config": "configs/baseline.yaml",
                        "output": "comply",
                        "above": 0.5,
                        "below": 0.9,
                    }
                }
            },
            "checks.c: give exactly one of 'above' and 'below'",
        ),
        ({"abc": {"population_size": 24, "generation": 2}}, "abc.generation: unknown key"),
    ],
)
def test_a_bad_targets_file_is_one_line_naming_the_key(
    change: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError, match="^t.yaml: " + expected) as caught:
        build(tiny_targets(**change))
    assert "\n" not in str(caught.value)


def test_a_bad_targets_file_exits_2_on_the_command_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("parameters: [decision.temperature]\ntargets: {}\n")
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {path}: targets: ") and error.count("\n") == 1
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- the procedure


def test_the_posterior_is_a_weighted_sample_of_the_calibrated_columns(calibrated) -> None:
    posterior = calibrated.posterior
    columns = [
        "decision.order_moral_cost.3",
        "population.group_shares.complicit",
        "population.group_shares.passive",
        "population.group_shares.dissenting",
    ]
    assert list(posterior.columns) == [*columns, "weight"]
    assert len(posterior) == 24
    assert posterior["weight"].sum() == pytest.approx(1.0)
    shares = posterior[columns[1:]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert posterior["decision.order_moral_cost.3"].between(1.4, 3.5).all()


def test_the_summary_says_which_parameters_moved(calibrated) -> None:
    summary = calibrated.summary.set_index("parameter")
    assert set(summary["verdict"]) <= {"pinned down", "narrowed", "not identified by these targets"}
    row = summary.loc["decision.order_moral_cost.3"]
    assert row["prior_q05"] < row["prior_median"] < row["prior_q95"]
    assert row["posterior_q05"] <= row["posterior_median"] <= row["posterior_q95"]


def test_the_folder_holds_history_posterior_plots_and_checks(calibrated) -> None:
    folder = calibrated.folder
    for name in (
        "manifest.json",
        "targets.yaml",
        "history.db",
        "posterior.csv",
        "generations.csv",
        "posterior_summary.csv",
        "marginals.png",
        "predictive.csv",
        "predictive.png",
        "checks.csv",
    ):
        assert (folder / name).is_file(), name
    assert calibrated.manifest["kind"] == "calibration"
    assert len(calibrated.generations) == 2
    assert calibrated.generations["epsilon"].is_monotonic_decreasing


def test_predictive_checks_compare_prior_and_posterior_runs_with_each_target(calibrated) -> None:
    table = calibrated.predictive.set_index("target")
    assert list(table.index) == ["refusal", "ratio"]
    for label in ("prior", "posterior"):
        assert table[f"{label}_within"].between(0, 1).all()
        assert (table[f"{label}_q05"] <= table[f"{label}_q95"]).all()
    checks = calibrated.checks.set_index("check")
    assert checks.loc["support_role_complies", "condition"] == "> 0.9"
    assert 0 <= checks.loc["support_role_complies", "posterior_holds"] <= 1


def test_the_same_seed_gives_the_same_posterior_on_any_number_of_workers(calibrated) -> None:
    again = calibrate(build(tiny_targets()), workers=2, progress=False)
    pd.testing.assert_frame_equal(again.posterior, calibrated.posterior)
    other = calibrate(
        build(tiny_targets(abc={"population_size": 24, "generations": 2, "seed": 4})),
        workers=1,
        progress=False,
    )
    assert not other.posterior.equals(calibrated.posterior)


def test_a_dask_cluster_gives_the_same_posterior(calibrated) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        remote = calibrate(
            build(tiny_targets()), scheduler=cluster.scheduler_address, progress=False
        )
    pd.testing.assert_frame_equal(remote.posterior, calibrated.posterior)


def test_an_interrupted_calibration_resumes_to_the_same_posterior(
    calibrated, tmp_path: Path
) -> None:
    out = tmp_path / "resumed"
    calibrate(build(tiny_targets()), out=out, workers=1, generations=1, progress=False)
    resumed = calibrate(build(tiny_targets()), out=out, workers=1, resume=True, progress=False)
    assert len(resumed.generations) == 2
    pd.testing.assert_frame_equal(resumed.posterior, calibrated.posterior)


def test_a_resume_with_changed_targets_is_refused(calibrated) -> None:
    changed = copy.deepcopy(tiny_targets())
    changed["targets"]["refusal"]["value"] = 0.3
    with pytest.raises(ResultsError, match="changed since this calibration started"):
        calibrate(build(changed), out=calibrated.folder, resume=True, progress=False)


def test_a_calibration_never_writes_over_other_results(calibrated) -> None:
    with pytest.raises(ResultsError, match="not empty"):
        calibrate(build(tiny_targets()), out=calibrated.folder, progress=False)


def test_the_posterior_is_the_prior_of_an_ensemble(calibrated, tmp_path: Path) -> None:
    experiment = {
        "base": {
            "config": str(REPO / "configs" / "scenarios" / "fight_order.yaml"),
            "overrides": {"population.n_officers": 60},
        },
        "steps": 3,
    }
    result = run_ensemble(
        experiment,
        draws=6,
        replications=1,
        posterior=calibrated.folder,
        workers=1,
        out=tmp_path / "ensemble",
        progress=False,
    )
    drawn = result.sweep.runs["decision.order_moral_cost.3"].to_numpy()
    particles = set(calibrated.posterior["decision.order_moral_cost.3"].round(12))
    assert set(np.round(drawn, 12)) <= particles
    assert result.manifest["posterior"] == str(calibrated.folder.resolve())
    assert result.manifest["calibrated"] == calibrated.targets.parameters
    # the calibration kept the other assumptions at the config's values, and so does this
    assert "decision.social_weight" not in result.sweep.runs


# ---------------------------------------------------------------------------- trust


def recovery_targets() -> Any:
    """Two parameters the two targets inform (the moral cost and hardship of fighting)."""
    return build(
        {
            "parameters": ["decision.order_moral_cost.3", "decision.order_hardship.3"],
            "overrides": {"population.n_officers": 120},
            "abc": {"population_size": 60, "generations": 4, "seed": 1},
            "targets": {
                "refuse": {
                    **SIMULATED,
                    **FIGHT,
                    "output": "refuse",
                    "value": 0.2,
                    "tolerance": 0.03,
                },
                "comply": {
                    **SIMULATED,
                    **FIGHT,
                    "output": "comply",
                    "value": 0.1,
                    "tolerance": 0.03,
                },
            },
        }
    )


def test_parameter_recovery_covers_the_truth_and_narrows_the_prior() -> None:
    """Simulate with known parameters, calibrate against the outputs: the 90% posterior
    interval should contain the truth for most parameters over the repeats."""
    table = recovery_study(recovery_targets(), repeats=3, seed=5, workers=1)
    coverage = table["covered"].mean()
    print(f"recovery coverage of the 90% interval: {coverage:.0%} of {len(table)}")
    assert len(table) == 6
    assert coverage >= 4 / 6
    widths = (table["high"] - table["low"]).groupby(table["parameter"]).mean()
    prior_width = 0.9 * (3.5 - 1.4)  # the uniform prior's 90% interval
    assert widths["decision.order_moral_cost.3"] < 0.8 * prior_width


def test_recovery_draws_no_truth_whose_targets_cannot_be_computed() -> None:
    """Under the support role nobody refuses or is arrested: a ratio of the two is undefined
    for every truth, so none is used (rather than a NaN passed off as a target); a truth
    whose targets can be computed gives them as finite values."""
    undefined = build(
        tiny_targets(
            targets={
                "refusers_per_arrest": {
                    **SIMULATED,
                    "config": "configs/scenarios/status_quo.yaml",
                    "overrides": {"steps": 2},
                    "output": "refuse / arrested",
                    "value": 1.0,
                    "tolerance": 1.0,
                }
            }
        )
    )
    from simulation.analysis.calibration import Problem, _comparable_truth

    rng = np.random.default_rng(5)
    assert _comparable_truth(undefined, Problem.from_targets(undefined), rng, attempts=3) is None
    targets = build(tiny_targets())
    truth, synthetic, redrawn = _comparable_truth(targets, Problem.from_targets(targets), rng)
    assert redrawn == 0 and set(truth) == set(targets.priors.columns)
    assert all(np.isfinite(target.spec.value) for target in synthetic.targets)


def test_a_calibration_folder_has_a_report(calibrated) -> None:
    from simulation import build_report

    text = build_report(calibrated.folder).read_text()
    assert "Posterior against prior" in text and "Stylised facts not fitted" in text


def test_the_calibration_tables_are_generated_from_its_folder(calibrated) -> None:
    from simulation import results_table

    text = results_table(calibrated.folder)
    assert "| `decision.order_moral_cost.3` |" in text
    assert "| `refusal` | 0.2 |" in text
    assert "| `support_role_complies` | > 0.9 |" in text
    assert "Effective sample size of the weighted posterior:" in text


def test_the_calibration_tables_give_every_generation_s_effective_sample_size(calibrated) -> None:
    from simulation import results_table

    text = results_table(calibrated.folder)
    shares = [f"{int(row['generation'])}: " for _, row in calibrated.generations.iterrows()]
    sentence = text.split("Effective sample size by generation (share of the population; floor")
    assert len(sentence) == 2 and all(share in sentence[1].split("\n")[0] for share in shares)


def test_the_effective_sample_size_counts_the_particles_the_weights_rest_on(calibrated) -> None:
    from simulation.analysis.calibration import effective_sample_size

    assert effective_sample_size([2.0, 2.0, 2.0, 2.0]) == pytest.approx(4.0)
    assert effective_sample_size([1.0, 0.0, 0.0, 0.0]) == pytest.approx(1.0)
    generations = calibrated.generations
    assert (generations["effective_sample_size"] <= generations["particles"] + 1e-9).all()


def _rare_particle() -> Any:
    """A particle accepted one time in ten (pyabc's numpy global generator, as seeded)."""
    import pyabc

    accepted = bool(np.random.random() < 0.1)
    return pyabc.Particle(0, pyabc.Parameter({"x": 1.0}), 1.0, {}, 0.0, accepted=accepted)


def test_a_particle_whose_share_of_the_budget_ran_out_is_tried_again_while_it_lasts() -> None:
    """50 particles at 1 acceptance in 10 need about 500 simulations; a budget of 1,000
    gives each 20 tries at first, which several miss: they are tried again, and the
    generation completes within the budget, the same way each time."""
    from simulation.analysis.abc_glue import SeededMapSampler

    def generation() -> tuple[int, list[bool]]:
        sampler = SeededMapSampler(lambda f, items: map(f, items), root=5, budget=1000)
        sample = sampler.sample_until_n_accepted(50, _rare_particle, 0)
        assert sample.n_accepted == 50 and getattr(sample, "ok", True)
        assert sampler.used <= 1000
        return sampler.used, [p.accepted for p in sample.all_particles]

    assert generation() == generation()


def test_a_later_generation_that_would_exceed_the_budget_is_cut_short() -> None:
    """Generations after the first (t >= 1) are cut at the budget; the first always
    completes, or a tiny budget would leave no posterior."""
    from simulation.analysis.abc_glue import SeededMapSampler

    sampler = SeededMapSampler(lambda f, items: map(f, items), root=5, budget=120)
    sample = sampler.sample_until_n_accepted(50, _rare_particle, 1)
    assert sample.n_accepted < 50 and sample.ok is False
    assert sampler.used == 120


def test_the_simulation_budget_holds_within_a_generation() -> None:
    """pyabc checks its budget only between generations; the sampler stops a generation
    that would overshoot it, and the posterior is the last whole generation."""
    targets = build(
        tiny_targets(
            abc={"population_size": 24, "generations": 10, "seed": 3, "max_simulations": 150}
        )
    )
    result = calibrate(targets, workers=1, predictive_draws=2, progress=False)
    assert result.simulations <= 150
    assert result.simulations >= int(result.generations["simulations"].sum()) + 24


# ---------------------------------------------------------------------------- count targets


def prior_runs(targets, draws: int = 12):
    from simulation.analysis.calibration import Problem, predictive

    problem = Problem.from_targets(targets)
    sample = targets.priors.sample(np.random.default_rng(5), draws)
    return predictive(targets, problem, sample, 9, map)


def test_no_shipped_target_is_zero_in_over_5_percent_of_runs_without_a_count_likelihood() -> None:
    from simulation.analysis.calibration import zero_prone_targets

    targets = load_targets(REPO / "configs" / "targets" / "anchors.yaml")
    assert zero_prone_targets(targets, prior_runs(targets)) == {}


def test_a_rare_event_on_a_log_scale_is_caught_as_zero_prone() -> None:
    from simulation.analysis.calibration import zero_prone_targets

    rare = {
        **SIMULATED,
        **FIGHT,
        "output": "caught_deserting / (reprimanded + lost_benefits + 1)",
        "value": 0.04,
        "scale": "log",
        "tolerance": 1.1,
    }
    targets = build(tiny_targets(targets={"rare": rare}, checks={}))
    assert "rare" in zero_prone_targets(targets, prior_runs(targets))


def test_a_count_target_scores_zero_events_as_finitely_far() -> None:
    from simulation.config.targets import count_residual

    assert count_residual(0, 0.2, 1.21) == pytest.approx(-0.6, abs=0.05)  # expected: likely
    assert count_residual(0, 30.0, 0.49) < -2.5  # thirty expected, none seen: far
    assert count_residual(30.0, 30.0, 0.49) == 0.0
    # many events: about the log ratio in tolerances (here a factor of 2 at tolerance 0.7)
    assert count_residual(2000.0, 1000.0, 0.49) == pytest.approx(np.log(2) / 0.7, rel=0.15)


def test_a_count_target_needs_an_exposure() -> None:
    counted = {**SIMULATED, **FIGHT, "output": "deserted", "value": 0.08, "scale": "count"}
    with pytest.raises(ConfigError, match="a count scale needs an exposure"):
        build(tiny_targets(targets={"x": {**counted, "tolerance": 0.7}}))


# ---------------------------------------------------------------------------- issue 23, part 2


def test_history_matching_then_abc_writes_waves_diagnostics_and_wall_time(
    tmp_path: Path, capsys
) -> None:
    import yaml

    path = tmp_path / "tiny.yaml"
    data = tiny_targets(abc={"population_size": 10, "generations": 1, "seed": 3})
    for target in data["targets"].values():
        target["config"] = str(REPO / target["config"])
    data["checks"]["support_role_complies"]["config"] = str(
        REPO / data["checks"]["support_role_complies"]["config"]
    )
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "hm"
    code = main(
        [
            "calibrate",
            str(path),
            "--history-match",
            "1",
            "--design-points",
            "8",
            "--predictive-draws",
            "2",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    waves = pd.read_csv(out / "waves.csv")
    assert list(waves["wave"]) == [1] and waves["design_points"].iloc[0] == 8
    assert 0 <= waves["ruled_out_total"].iloc[0] <= 1
    diagnostics = pd.read_csv(out / "emulator_diagnostics.csv")
    assert set(diagnostics["target"]) == {"refusal", "ratio"}
    assert (out / "history_matching.png").is_file() and (out / "posterior.csv").is_file()
    assert (
        "whole calibration (history matching, ABC, predictive checks):" in capsys.readouterr().out
    )


def test_every_anchor_left_out_is_predicted_by_the_others() -> None:
    from simulation.analysis.calibration import leave_one_anchor_out

    table = leave_one_anchor_out(build(tiny_targets()), draws=6, population_size=10, generations=1)
    assert list(table["left_out"]) == ["refusal", "ratio"]
    assert (table["predicted_90_low"] <= table["predicted_90_high"]).all()
    inside = (table["predicted_90_low"] <= table["value"]) & (
        table["value"] <= table["predicted_90_high"]
    )
    assert (table["inside_90"] == inside).all()
    assert table["within_tolerance"].between(0, 1).all()
