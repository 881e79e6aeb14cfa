"""Candidate cities and the national centre plan for a 100,000-patient scenario."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twonets.core.errors import Invalid
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.health import service
from twonets.health.centres import (
    build_outlines,
    distance_matrix,
    load_cities,
    outlines_geojson,
    plan_centres,
    plan_json,
    provenance,
)
from twonets.health.mip import SitingStatus
from twonets.health.service.planning import PLANS_KEPT


def test_the_dataset_states_its_provenance_and_holds_plausible_cities() -> None:
    cities = load_cities()
    assert len(cities) >= 30
    assert len({c.name for c in cities}) == len(cities)
    for c in cities:
        assert 73 < c.lon < 135, c
        assert 18 < c.lat < 54, c
        assert 500_000 < c.population < 40_000_000, c
    assert [c.population for c in cities] == sorted((c.population for c in cities), reverse=True)
    facts = provenance()
    assert "census" in facts["population"]
    assert "WGS-84" in facts["coordinates"]


def test_distances_are_symmetric_great_circles() -> None:
    cities = load_cities()
    d = distance_matrix(cities)
    assert np.allclose(d, d.T)
    assert np.all(np.diag(d) == 0)
    beijing = next(i for i, c in enumerate(cities) if c.name_en == "Beijing")
    shanghai = next(i for i, c in enumerate(cities) if c.name_en == "Shanghai")
    assert d[beijing, shanghai] == pytest.approx(1067, rel=0.02)


def test_ten_centres_of_at_most_5000_beds_leave_the_rest_of_100000_unserved() -> None:
    plan = plan_centres(patients=100_000, peak_share=1.0, centres=10)
    assert plan.status is SitingStatus.OPTIMAL
    assert len(plan.centres) == 10
    assert all(3_000 - 1e-6 <= load <= 5_000 + 1e-6 for load in plan.loads)
    assert plan.total_unserved == pytest.approx(100_000 - sum(plan.loads), abs=1e-3)
    # Served and unserved add up to each city's demand.
    served = np.zeros(len(plan.cities))
    for i, _, n, _ in plan.served:
        served[i] += n
    assert np.allclose(served + np.array(plan.unserved), plan.demand, atol=1e-4)


def test_half_the_patients_at_once_fit_in_ten_centres_and_travel_is_reported() -> None:
    plan = plan_centres(patients=100_000, peak_share=0.5, centres=10)
    assert plan.total_unserved == pytest.approx(0.0, abs=1e-3)
    body = plan_json(plan)
    assert body["beds_needed"] == pytest.approx(50_000, abs=1)
    assert body["served_within_km"] >= body["mean_km"] > 0
    assert {f["to"] for f in body["flows"]} == {c["city"] for c in body["centres"]}


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        plan_centres(peak_share=0)
    assert caught.value.errors[0].field == "peak_share"
    with pytest.raises(Invalid):
        plan_centres(centres=0)


def test_the_shipped_outlines_are_the_mainland_provinces_as_built() -> None:
    fc = json.loads(outlines_geojson())
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == 31
    assert outlines_geojson().strip() == build_outlines()


def test_the_service_keeps_a_bounded_number_of_plans() -> None:
    ctx = service.HealthContext(gov=Governance(Catalogue(), b"k" * 48))
    first = service.centre_plan(ctx, centres_count=2, beds_max=60_000, patients=1_000)
    assert service.centre_plan(ctx, centres_count=2, beds_max=60_000, patients=1_000) is first
    for n in range(PLANS_KEPT):
        service.centre_plan(ctx, centres_count=1, beds_min=1, beds_max=10_000, patients=10 + n)
    assert len(ctx.plan_cache) == PLANS_KEPT
    assert (1_000, 1.0, 2, 3_000, 60_000, None) not in ctx.plan_cache
