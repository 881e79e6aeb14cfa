"""Mobilisation MIP: optimum checked by brute force on small instances, and the rules."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.errors import Invalid
from twonets.health.mip import SitingStatus
from twonets.health.mobilisation_plan import (
    Candidate,
    Need,
    allowance_of,
    haversine_km,
    plan_mobilisation,
)


def brute_force(
    candidates: list[Candidate],
    needs: list[Need],
    d: np.ndarray,
    allowance: dict[str, int],
    untrained_penalty: float,
) -> tuple[int, float]:
    """(fewest unfilled posts, least cost among those) over every assignment."""
    centres = d.shape[1]
    demand: dict[tuple[int, str], int] = {}
    for need in needs:
        demand[(need.centre, need.specialty)] = demand.get((need.centre, need.specialty), 0) + (
            need.count
        )
    best: tuple[int, float] | None = None
    for choice in itertools.product(range(-1, centres), repeat=len(candidates)):
        filled: dict[tuple[int, str], int] = {}
        taken: dict[str, int] = {}
        cost = 0.0
        ok = True
        for cand, c in zip(candidates, choice, strict=True):
            if c < 0:
                continue
            key = (c, cand.specialty)
            filled[key] = filled.get(key, 0) + 1
            taken[cand.hospital] = taken.get(cand.hospital, 0) + 1
            if filled[key] > demand.get(key, 0) or taken[cand.hospital] > allowance.get(
                cand.hospital, 0
            ):
                ok = False
                break
            cost += float(d[candidates.index(cand), c]) + (0 if cand.trained else untrained_penalty)
        if not ok:
            continue
        unfilled = sum(demand.values()) - sum(filled.values())
        if best is None or (unfilled, cost) < (best[0], best[1] - 1e-9):
            best = (unfilled, cost)
    assert best is not None
    return best


def check_plan(plan_assignments, candidates, needs, allowance) -> None:  # type: ignore[no-untyped-def]
    by_key = {c.key: c for c in candidates}
    keys = [k for k, _ in plan_assignments]
    assert len(keys) == len(set(keys)), "a reservist is called once"
    taken: dict[str, int] = {}
    filled: dict[tuple[int, str], int] = {}
    for key, centre in plan_assignments:
        cand = by_key[key]
        taken[cand.hospital] = taken.get(cand.hospital, 0) + 1
        filled[(centre, cand.specialty)] = filled.get((centre, cand.specialty), 0) + 1
    for h, n in taken.items():
        assert n <= allowance.get(h, 0)
    demand: dict[tuple[int, str], int] = {}
    for need in needs:
        demand[(need.centre, need.specialty)] = demand.get((need.centre, need.specialty), 0) + (
            need.count
        )
    for key, n in filled.items():
        assert n <= demand[key]


SPECIALTIES = ("nursing", "critical-care")


@st.composite
def instances(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 6))
    centres = draw(st.integers(1, 2))
    hospitals = ["h0", "h1", "h2"]
    candidates = [
        Candidate(
            key=100 + i,
            specialty=draw(st.sampled_from(SPECIALTIES)),
            hospital=draw(st.sampled_from(hospitals)),
            trained=draw(st.booleans()),
        )
        for i in range(n)
    ]
    needs = [
        Need(centre=c, specialty=s, count=draw(st.integers(0, 3)))
        for c in range(centres)
        for s in SPECIALTIES
    ]
    d = np.array(
        [
            [draw(st.integers(0, 40)) + 0.5 * draw(st.integers(0, 1)) for _ in range(centres)]
            for _ in range(n)
        ],
        dtype=float,
    )
    allowance = {h: draw(st.integers(0, 3)) for h in hospitals}
    penalty = float(draw(st.sampled_from([0, 7, 50])))
    return candidates, needs, d, allowance, penalty


@settings(max_examples=60, deadline=None)
@given(instances())
def test_the_plan_is_the_brute_force_optimum(instance) -> None:  # type: ignore[no-untyped-def]
    candidates, needs, d, allowance, penalty = instance
    plan = plan_mobilisation(candidates, needs, d, allowance, untrained_penalty=penalty)
    assert plan.status is SitingStatus.OPTIMAL
    check_plan(plan.assignments, candidates, needs, allowance)
    unfilled, cost = brute_force(candidates, needs, d, allowance, penalty)
    assert plan.unfilled == unfilled
    assert plan.cost == pytest.approx(cost, abs=1e-6)


def test_the_hospital_share_is_never_exceeded_even_if_posts_stay_empty() -> None:
    candidates = [Candidate(key=i, specialty="nursing", hospital="ruijin") for i in range(5)]
    d = np.zeros((5, 1))
    plan = plan_mobilisation(candidates, [Need(0, "nursing", 5)], d, {"ruijin": 2})
    assert len(plan.assignments) == 2
    assert plan.shortfall == {(0, "nursing"): 3}
    assert plan.unfilled == 3


def test_the_nearest_and_trained_are_called_first() -> None:
    candidates = [
        Candidate(key=1, specialty="nursing", hospital="a", trained=False),
        Candidate(key=2, specialty="nursing", hospital="a"),
        Candidate(key=3, specialty="nursing", hospital="b"),
    ]
    d = np.array([[1.0], [30.0], [5.0]])
    plan = plan_mobilisation(
        candidates, [Need(0, "nursing", 1)], d, {"a": 5, "b": 5}, untrained_penalty=50
    )
    assert plan.assignments == ((3, 0),)
    assert plan.cost == pytest.approx(5.0)


def test_skills_must_match() -> None:
    candidates = [Candidate(key=1, specialty="nursing", hospital="a")]
    plan = plan_mobilisation(candidates, [Need(0, "critical-care", 1)], np.zeros((1, 1)), {"a": 1})
    assert plan.assignments == ()
    assert plan.shortfall == {(0, "critical-care"): 1}


def test_bad_distances_name_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        plan_mobilisation(
            [Candidate(key=1, specialty="nursing", hospital="a")],
            [Need(0, "nursing", 1)],
            np.array([[-1.0]]),
            {"a": 1},
        )
    assert "distance" in caught.value.detail


def test_allowance_is_a_share_of_staff_less_those_taken() -> None:
    assert allowance_of({"a": 100, "b": 9}, {"a": 3}, 0.1) == {"a": 7, "b": 0}
    with pytest.raises(Invalid):
        allowance_of({"a": 1}, {}, 1.5)


def test_haversine_matches_a_known_distance() -> None:
    # Shanghai People's Square to Beijing Tiananmen: about 1,067 km.
    km = haversine_km(121.4737, 31.2304, 116.3975, 39.9087)
    assert math.isclose(km, 1067, rel_tol=0.01)
