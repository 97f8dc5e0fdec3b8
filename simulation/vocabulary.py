"""The model's vocabulary: officer groups, ranks, choices, metric names and one palette.

Everything else imports these names from here, so that a group, a choice or a colour is
spelled in exactly one place. This module imports nothing from the package.
"""

from __future__ import annotations

import functools
from importlib import metadata

GROUPS: tuple[str, ...] = ("complicit", "passive", "dissenting")
"""The seed's three officer groups [What's inside the Belarusian army?]."""

RANKS: tuple[str, ...] = ("senior", "field", "junior")
"""Rank bands: senior (generals, colonels), field (majors, captains), junior (lieutenants)."""

CHOICES: tuple[str, ...] = ("comply", "evade", "refuse")
"""What an officer does with an order: carry it out, quietly stall, or openly refuse."""

COMPLY, EVADE, REFUSE = 0, 1, 2
EXIT = 3

ACTIONS: tuple[str, ...] = (*CHOICES, "exit")
"""What a serving officer can do each month: the three choices, or leave the force (exit:
resignation while the route is open, desertion when it is closed). An officer who exits is
gone, so the shares of the serving force are over CHOICES only."""
COMPLICIT, PASSIVE, DISSENTING = 0, 1, 2
SENIOR, FIELD, JUNIOR = 0, 1, 2

WAR_ORDER_LEVELS: dict[int, str] = {
    0: "peacetime",
    1: "support role for Russian forces (infrastructure, hospitals, training)",
    2: "deployment / mobilisation at the border",
    3: "order to fight in Ukraine",
}

ATTITUDES: tuple[str, ...] = (
    "regime_alignment",
    "russia_alignment",
    "war_aversion",
    "risk_aversion",
    "benefit_value",
    "exit_cost",
    "culpability",
    "threshold",
)
"""Per-officer attitudes, each in [0, 1] (threshold in officers in Granovetter's count mode)."""

CATEGORIES: tuple[str, ...] = (*GROUPS, *RANKS)
"""Sub-populations whose shares are recorded besides the overall ones."""

PERSONNEL: tuple[str, ...] = (
    "officer",
    "contract_soldier",
    "conscript",
    "service_staff",
    "reservist",
    "territorial_defence",
)
"""Personnel categories: officers (the three groups and ranks), then the men they command.
Seed [What's inside the Belarusian army?]: "the number of personnel ... is 45,000, with a
service staff included - 65,000. The military reserve is around 290,000 people, and
territorial defence forces are 120,000." Officers are always present; the others only when
a config gives them a number per officer (`personnel.<category>.per_officer`)."""
OFFICER = 0

RESERVE_CATEGORIES: tuple[str, ...] = ("reservist", "territorial_defence")
"""Categories held in the reserve until the mobilisation driver calls them up."""

DEPARTURES: tuple[str, ...] = (
    "dismissed",
    "resigned",
    "deserted",
    "retired",
    "recruited_by_russia",
)
"""Routes by which an officer leaves the force for good: dismissal (after detection, at the
end of a jail term, or as the sanction of caught evasion), resignation and desertion (the
two exit routes), retirement, and recruitment by the Russian army."""

EXIT_ROUTES: tuple[str, ...] = ("resigned", "deserted")
"""Departures chosen by the officer (the exit action), by route."""

REAR_POST_COMPLY = "comply_at_rear_post"
"""Serving at a rear post after the response ladder reassigned him (rung 1: he bears only
`reassignment_order_share` of the order) and complying there: relieved of part of the order,
so not counted with those who carry it out at their own post (docs/ODD.md §7.7)."""

COHORT_STATES: tuple[str, ...] = (*CHOICES, REAR_POST_COMPLY, "jailed", *DEPARTURES)
"""Where each officer of the starting force is now: serving (by choice; `comply` at his own
post, `comply_at_rear_post` at a rear post after reassignment; evaders and refusers at a rear
post stay in `evade` and `refuse`), in jail, or gone by one route. The cohort shares
`cohort_<state>` sum to 1 at every step: leaving and arrests do not shrink their denominator
(the force present at step 0)."""

COUNT_COLUMNS: tuple[str, ...] = (
    "arrested",
    "caught_deserting",
    "jailed",
    "released",
    "dismissed",
    "resigned",
    "deserted",
    "exited",
    "resigned_for_civilian_jobs",
    "exited_by_decision",
    "reprimanded",
    "lost_benefits",
    "recruited_by_russia",
    "retired",
    "entered",
    "mobilised",
    "persons_arrested",
    "served",
    "pressured",
    "persuaded",
    "reassigned",
    "sanctioned_refusers",
    "cases_opened",
    "called_up",
    "reported",
    "evaded_call_up",
    "call_up_found",
    "call_up_prosecuted",
)
"""Counts recorded every step: `jailed` is the number in jail now, every other is cumulative
since step 0 (arrests include caught deserters, and a person arrested twice counts twice
in `arrested`, once in `persons_arrested`; `exited` = resigned + deserted, of whom
`resigned_for_civilian_jobs` left by peacetime attrition (turnover, docs/ODD.md §7.4) and
`exited_by_decision` = exited - resigned_for_civilian_jobs by the decision's exit action,
which weighs the order; `mobilised`
reservists and territorial defence who joined their units; `served` the persons who ever
served: the force at step 0, the mobilised and the entrants, each once; `pressured`,
`persuaded`, `reassigned`, `sanctioned_refusers` and `cases_opened` count the response
ladder's answers to open refusal, docs/ODD.md §7.6; of the reserve `called_up`, those who
`reported` at once, those who `evaded_call_up`, the evaders found since (`call_up_found`)
and those of them prosecuted (`call_up_prosecuted`))."""

CALL_UP_SHARES: tuple[str, ...] = (
    "reported_share_of_called_up",
    "evaded_call_up_share_of_called_up",
)
"""Of the reserve called up so far: the shares who reported at once and who evaded the call-up
(denominator `called_up`; NaN before any call-up)."""

FORCE_SHARES: tuple[str, ...] = (
    "arrested_share",
    "dismissed_share",
    "resigned_share",
    "deserted_share",
    "exited_share",
    "jailed_share",
)
"""Shares of everyone who ever served since month 0 (the `served` count: the force at month 0,
everyone mobilised and every entrant since, each person once): the persons ever arrested
(a person arrested twice counts once), dismissed, resigned, deserted and exited (resigned +
deserted), and the number in jail now. Each person is counted once in the numerator and
once in the denominator, so every share is at most 1."""

FLOW_ACTS: dict[int, str] = {EVADE: "new_evaders", REFUSE: "new_refusers"}
"""Acts whose monthly flow counts those who take them this month and did not last month (or
did not serve last month): new evaders and new refusers."""

FLOW_ROUTES: tuple[str, ...] = (
    "arrested",
    "dismissed",
    "resigned",
    "deserted",
    "retired",
    "recruited_by_russia",
    "departed",
)
"""Events whose monthly flow is this month's rise of a cumulative count (`departed`: every
route out of the force, DEPARTURES)."""

FLOWS: tuple[str, ...] = (*FLOW_ACTS.values(), *FLOW_ROUTES)
"""Monthly flows: `flow_<name>` is this month's number and `flow_<name>_per_1000_serving`
that number per 1,000 of the force serving at this month's choice (`n_serving_at_choice`,
the members who chose this month): a rate whose denominator is the month's force, not the
force that is left after arrests and exits."""


def flow_columns() -> list[str]:
    """Monthly flow columns: counts and rates per 1,000 serving at the choice."""
    return [
        "n_serving_at_choice",
        *(f"flow_{name}" for name in FLOWS),
        *(f"flow_{name}_per_1000_serving" for name in FLOWS),
    ]


PRIVATE_COLUMNS: tuple[str, ...] = ("private_evasion", "private_refusal", "private_exit")
"""Shares of the serving force who would evade, refuse or leave if safe (no expected
sanction, no social pressure): private inclinations, whatever they do in public."""

EXPECTATION_COLUMNS: tuple[str, ...] = (
    "mean_perceived_strength",
    "seen_defection",
    *PRIVATE_COLUMNS,
    "hidden_dissent",
    "falsifying",
)
"""Beliefs and hidden preferences, every step: mean perceived regime strength of the serving
force; the share of the force seen defecting last month (refusal and exit in full, evasion
as peers see it); private inclinations; `hidden_dissent`, the share who would defy the order
more openly if safe than they do (evade rather than comply, refuse or leave rather than
comply or evade); `falsifying`, the share whose public act differs from what they would do
if safe (Kuran's preference falsification)."""

SERIES_EXTRA: tuple[str, ...] = (
    "n_active",
    "mean_russia_alignment",
    "mean_alignment",
    "mean_detection_probability",
    "mean_tenure_years",
    *EXPECTATION_COLUMNS,
    *COUNT_COLUMNS,
    "evading_call_up",
    *CALL_UP_SHARES,
)
"""Per-step columns besides the shares that a sweep may record as metrics."""


def share_columns() -> list[str]:
    """Names of the share columns: overall, by group, by rank and by personnel category
    (e.g. 'passive_evade', 'conscript_refuse'; a category's columns exist in runs that have
    that category)."""
    return [
        *CHOICES,
        *(f"{category}_{choice}" for category in (*CATEGORIES, *PERSONNEL) for choice in CHOICES),
    ]


def cohort_columns() -> list[str]:
    """Shares and numbers of the starting force in each cohort state (e.g. 'cohort_deserted',
    'cohort_count_deserted')."""
    return [
        *(f"cohort_{state}" for state in COHORT_STATES),
        *(f"cohort_count_{state}" for state in COHORT_STATES),
    ]


REAR_POST_COLUMNS: tuple[str, ...] = (REAR_POST_COMPLY, f"count_{REAR_POST_COMPLY}")
"""Beside the serving force's `comply`: the share (of all serving, as `comply`) and number of
those complying at a rear post after reassignment, a part of `comply` named apart."""


def metric_names() -> list[str]:
    """Every per-step column a run can report as a metric."""
    return [
        *share_columns(),
        *REAR_POST_COLUMNS,
        *cohort_columns(),
        *FORCE_SHARES,
        *SERIES_EXTRA,
        *flow_columns(),
    ]


DEFAULT_METRICS: tuple[str, ...] = (
    *CHOICES,
    *(f"{group}_{choice}" for group in GROUPS for choice in CHOICES),
)
"""Outcomes a sweep records unless its experiment says otherwise: overall and by group."""


KEY_OUTPUTS: tuple[str, ...] = (
    *CHOICES,
    "complicit_comply",
    "passive_evade",
    "dissenting_refuse",
)
"""The headline outputs: overall shares and each group's key behaviour under the seed's
account (the complicit comply, the passive evade, the dissenting refuse)."""


def split_metric(metric: str) -> tuple[str, str]:
    """'passive_refuse' -> ('passive', 'refuse'); 'refuse' -> ('overall', 'refuse')."""
    for choice in (*CHOICES, *COHORT_STATES[len(CHOICES) :]):
        if metric == choice:
            return "overall", choice
        if metric.endswith(f"_{choice}"):
            return metric.removesuffix(f"_{choice}"), choice
    return "overall", metric


CHOICE_COLOURS: dict[str, str] = {"comply": "#4C72B0", "evade": "#DD8452", "refuse": "#C44E52"}
"""One palette for every figure and the browser view."""

GROUP_MARKERS: dict[str, str] = {"complicit": "s", "passive": "o", "dissenting": "^"}
"""Matplotlib markers of the groups in drawings of officers."""

RECORDED_PACKAGES: tuple[str, ...] = (
    "reluctant-army",
    "mesa",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "SALib",
)
"""Packages whose versions are recorded with every result."""


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on ('unknown' when not installed)."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Read once per process: installed versions do not change while it runs, and every
    run's summary records them; looking them up parses each package's metadata, about a
    tenth of a small run's time (300 officers x 24 months)."""
    found = []
    for package in RECORDED_PACKAGES:
        try:
            found.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            found.append((package, "unknown"))
    return tuple(found)
