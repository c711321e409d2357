"""Programme budgeting and marginal analysis: a small exercise worked by hand.

Criteria and weights agreed by the panel: health gain 0.5, equity 0.3, deliverability 0.2.
Candidates (annual cost in £ thousand; scores 0 to 10 on each criterion):

    A falls prevention         cost 200   scores 8, 6, 7   value 4 + 1.8 + 1.4 = 7.2
    B social prescribing       cost 150   scores 5, 8, 8   value 2.5 + 2.4 + 1.6 = 6.5
    C diabetes education       cost 120   scores 6, 5, 9   value 3 + 1.5 + 1.8 = 6.3
    D stop low-value knee      cost -80   scores 3, 5, 6   value 1.5 + 1.5 + 1.2 = 4.2
      arthroscopy (releases £80k)

Budget £300k. Every package within it: A+B+D 270 (17.9), A+C+D 240 (17.7), B+C+D 190
(17.0), B+C 270 (12.8), A+D 120 (11.4), ... The best is A+B+D. Ranking by value per pound
(D, then C 0.0525, B 0.0433, A 0.036) and filling the budget greedily gives D, C, B
(17.0): the best package is not the top of the ratio list.

Weights moved: health 0.6 (equity and deliverability scaled to 0.24 and 0.16) gives A 7.36,
B 6.2, C 6.24, D 3.96; A+C+D (17.56) now beats A+B+D (17.52): the choice turns on the
weight given to health gain.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.decide.pbma import (
    Candidate,
    Exercise,
    best_package,
    greedy_package,
    package_uncertainty,
    weight_sensitivity,
)

WEIGHTS = {"health": 0.5, "equity": 0.3, "deliverability": 0.2}
CANDIDATES = [
    Candidate("A", "Falls prevention", 200.0, {"health": 8, "equity": 6, "deliverability": 7}),
    Candidate("B", "Social prescribing", 150.0, {"health": 5, "equity": 8, "deliverability": 8}),
    Candidate("C", "Diabetes education", 120.0, {"health": 6, "equity": 5, "deliverability": 9}),
    Candidate(
        "D", "Stop low-value arthroscopy", -80.0, {"health": 3, "equity": 5, "deliverability": 6}
    ),
]
EXERCISE = Exercise(WEIGHTS, CANDIDATES, budget=300.0)


def test_values_are_the_weighted_scores() -> None:
    assert [round(EXERCISE.value(c), 6) for c in CANDIDATES] == [7.2, 6.5, 6.3, 4.2]


def test_the_best_package_is_found_and_greedy_is_not_it() -> None:
    best = best_package(EXERCISE)
    assert best.chosen == ("A", "B", "D")
    assert best.value == pytest.approx(17.9)
    assert best.cost == pytest.approx(270.0)
    greedy = greedy_package(EXERCISE)
    assert greedy.chosen == ("B", "C", "D") and greedy.value == pytest.approx(17.0)


def test_the_choice_turns_on_the_weight_of_health_gain() -> None:
    rows = {(r.criterion, round(r.weight, 2)): r for r in weight_sensitivity(EXERCISE, step=0.1)}
    assert rows[("health", 0.6)].chosen == ("A", "C", "D")
    assert rows[("health", 0.6)].changed
    assert rows[("health", 0.4)].chosen == ("A", "B", "D")


def test_certain_scores_give_certain_choices() -> None:
    u = package_uncertainty(EXERCISE, runs=50, seed=3, spread=0.0)
    assert u == {"A": 1.0, "B": 1.0, "C": 0.0, "D": 1.0}
    wide = package_uncertainty(EXERCISE, runs=400, seed=3, spread=2.0)
    assert 0.0 < wide["C"] < 1.0 and wide["D"] > 0.9  # D releases money: nearly always in
    assert package_uncertainty(EXERCISE, runs=400, seed=3, spread=2.0) == wide


def test_a_malformed_exercise_names_the_field() -> None:
    with pytest.raises(ValueError, match="weights must add up to 1"):
        Exercise({"health": 0.5, "equity": 0.3}, CANDIDATES, 300.0)
    with pytest.raises(ValueError, match="A: no score for deliverability"):
        Exercise(WEIGHTS, [Candidate("A", "x", 1.0, {"health": 1, "equity": 1})], 300.0)
    with pytest.raises(ValueError, match="A: score for health must be from 0 to 10"):
        Exercise(
            WEIGHTS,
            [Candidate("A", "x", 1.0, {"health": 11, "equity": 1, "deliverability": 1})],
            300.0,
        )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-100, 300), st.integers(0, 10), st.integers(0, 10)),
        min_size=1,
        max_size=7,
    ),
    st.floats(0, 600),
)
def test_the_optimiser_beats_every_package_within_budget(
    items: list[tuple[float, int, int]], budget: float
) -> None:
    import itertools

    weights = {"a": 0.5, "b": 0.5}
    cands = [Candidate(f"c{i}", "", c, {"a": a, "b": b}) for i, (c, a, b) in enumerate(items)]
    ex = Exercise(weights, cands, budget)
    best = best_package(ex)
    assert best.cost <= budget + 1e-6
    for n in range(len(cands) + 1):
        for subset in itertools.combinations(cands, n):
            if sum(c.cost for c in subset) <= budget + 1e-9:
                assert sum(ex.value(c) for c in subset) <= best.value + 1e-6
