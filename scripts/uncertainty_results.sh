#!/usr/bin/env bash
# Regenerates every shipped result of the uncertainty work from scratch, then writes the
# generated tables into README.md and docs/calibration.md (between their markers). Run it
# from the repository root after any change to the model, the priors or the targets.
# About an hour and a half on 2 shared cores, measured one step at a time on 28 November 2026:
# calibration (20,000 simulations) 27 min, ensembles 12 and 10 min, sensitivity 24 min,
# recovery 23 min. The calibration's figures are copied to docs/figures for
# docs/calibration.md. results/sensitivity took about 0.9 GB of disk while its sweep's
# summary.csv repeated some 140 parameter columns on every metric row; it no longer does
# (each point's inputs are once in design.parquet; the new size is not yet measured).
#
#   bash scripts/uncertainty_results.sh
set -euo pipefail
run() { echo "+ $*" >&2; "$@"; }

# calibration against the anchors: docs/calibration.md's posterior, targets and checks
run reluctant-army calibrate configs/targets/anchors.yaml --out results/calibration_anchors --overwrite
run reluctant-army table results/calibration_anchors --readme docs/calibration.md
run cp results/calibration_anchors/marginals.png docs/figures/calibration_marginals.png
run cp results/calibration_anchors/predictive.png docs/figures/calibration_predictive.png

# the scenario library over the priors, then over the posterior: the README's tables
run reluctant-army ensemble experiments/scenarios_prior.yaml --out results/scenarios_prior --overwrite
run reluctant-army table results/scenarios_prior --readme README.md
run reluctant-army ensemble experiments/scenarios_prior.yaml --posterior results/calibration_anchors \
    --out results/scenarios_posterior --overwrite
run reluctant-army table results/scenarios_posterior --against results/scenarios_prior \
    --readme README.md

# the whole force without and with a mobilisation, over the priors: the README's two tables
run reluctant-army ensemble experiments/whole_force_prior.yaml --out results/whole_force_prior --overwrite
run reluctant-army table results/whole_force_prior --measure at_order_plus_1 --readme README.md \
    --marker whole-force-plus-1
run reluctant-army table results/whole_force_prior --measure at_order_plus_12 --readme README.md \
    --marker whole-force-plus-12

# sensitivity over every prior and the horizon: the README's sensitivity table
run reluctant-army sensitivity experiments/sensitivity.yaml --out results/sensitivity --overwrite
run reluctant-army table results/sensitivity --readme README.md

# trust in the procedure (printed, quoted in docs/calibration.md)
run python benchmarks/bench_calibration.py recovery --repeats 5 --population 100 --generations 4 --workers 1
