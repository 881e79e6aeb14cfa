"""Detection: the rule baseline on the synthetic city, reasons, and the two commands."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from twonets.cli import app
from twonets.operations.rentals import detection, synthetic
from twonets.operations.rentals.data import HouseholdRow, ReadingRow

runner = CliRunner()


def _home(
    household_id: str, *, rooms: int = 2, registered: int = 2, area: float = 60
) -> HouseholdRow:
    return HouseholdRow(household_id, "B1", "310115", area, rooms, registered, "residential")


def _month(household_id: str, month: int, water: float, power: float, gas: float) -> ReadingRow:
    return ReadingRow(household_id, f"2026-{month:02d}", water, power, gas)


def _building(
    extra: list[tuple[HouseholdRow, tuple[float, float, float]]],
) -> tuple[list[HouseholdRow], list[ReadingRow]]:
    """Eight ordinary two-person flats and the households in ``extra``, over four months."""
    homes = [_home(f"N{i}") for i in range(8)]
    uses = [(h, (7.0 + i * 0.1, 200.0 + i, 12.0)) for i, h in enumerate(homes)] + extra
    readings = [_month(h.household_id, m, w, e, g) for h, (w, e, g) in uses for m in range(1, 5)]
    return [h for h, _ in uses], readings


def test_a_crowded_flat_is_a_lead_with_reasons_a_person_can_read() -> None:
    homes, readings = _building([(_home("R1"), (35.0, 800.0, 50.0))])
    leads = detection.detect(homes, readings)
    assert [lead.household_id for lead in leads] == ["R1"]
    reasons = leads[0].reasons
    assert reasons.startswith("water 4.7× the building median per registered occupant for 4 months")
    assert "use of about 8 people (registered 2); 2 rooms, 60 m² allow at most 4" in reasons
    assert 0 < leads[0].score < 1
    assert leads[0].period == "2026-04"


def _features(*, rooms: int, high_months: int) -> detection.Features:
    ratios = {"water": 4.0, "electricity": 3.5, "gas": 3.0}
    return detection.Features(
        household_id="S1",
        building_id="B1",
        district="310115",
        months=12,
        rooms=rooms,
        area_m2=30.0 * rooms,
        registered_occupants=1,
        building_ratio=ratios,
        district_ratio=ratios,
        per_m2_ratio=ratios,
        high_months=dict.fromkeys(ratios, high_months),
        implied_people=dict.fromkeys(ratios, 7.0),
        water_electricity_ratio=1.0,
        night_share_ratio=None,
        last_month="2026-12",
        step=dict.fromkeys(ratios, 4.0),
    )


def test_one_room_and_one_month_are_worded_in_the_singular() -> None:
    # Agreeing now (after a step) with one month at least 2x so far, or sustained for two.
    agree = ["water", "electricity", "gas"]
    one = detection.worded(detection.reason_parts(_features(rooms=1, high_months=1), agree))
    assert one.startswith("water 4.0× the building median per registered occupant for 1 month;")
    assert "(registered 1); 1 room, 30 m² allow at most 2" in one
    assert "1 rooms" not in one
    assert "1 months" not in one
    two = detection.worded(detection.reason_parts(_features(rooms=2, high_months=2), agree))
    assert two.startswith("water 4.0× the building median per registered occupant for 2 months;")
    assert "(registered 1); 2 rooms, 60 m² allow at most 4" in two


def test_one_utility_alone_makes_no_lead() -> None:
    # Electric heating or a car charged at home: electricity 4x, water and gas as usual.
    homes, readings = _building([(_home("E1"), (7.0, 800.0, 12.0))])
    assert detection.detect(homes, readings) == []


def test_a_large_registered_family_is_no_lead() -> None:
    family = _home("F1", rooms=3, registered=8, area=90)
    homes, readings = _building([(family, (28.0, 800.0, 48.0))])
    assert detection.detect(homes, readings) == []


def test_commercial_premises_are_not_scored() -> None:
    shop = HouseholdRow("S1", "B1", "310115", 60, 2, 2, "commercial")
    homes, readings = _building([(shop, (35.0, 800.0, 50.0))])
    assert detection.detect(homes, readings) == []


def test_the_synthetic_city_is_the_same_for_a_seed() -> None:
    first = synthetic.generate(seed=7, households=200)
    assert first == synthetic.generate(seed=7, households=200)
    assert first != synthetic.generate(seed=8, households=200)


def test_the_baseline_beats_the_public_figure_and_keeps_look_alikes_out() -> None:
    city = synthetic.generate(households=2000)
    leads = detection.detect(city.households, city.readings)
    result = synthetic.evaluate(city.kinds, [lead.household_id for lead in leads])
    assert result.planted > 20
    assert result.precision_at_top > 0.8  # the grid company's model: about 0.55
    assert result.recall > 0.7
    assert sum(result.look_alikes_in_top.values()) <= 1


def test_evaluate_prints_precision_recall_and_look_alikes() -> None:
    result = runner.invoke(app, ["ops", "rentals", "evaluate", "--households", "600"])
    assert result.exit_code == 0, result.output
    assert "precision@" in result.output
    assert "recall" in result.output
    assert "vacant" in result.output


def _files(tmp_path: Path) -> tuple[Path, Path]:
    city = synthetic.generate(seed=3, households=300)
    households = tmp_path / "households.csv"
    readings = tmp_path / "readings.csv"
    households.write_text(
        "household_id,building_id,district,area_m2,rooms,registered_occupants,use\n"
        + "".join(
            f"{h.household_id},{h.building_id},{h.district},{h.area_m2},{h.rooms},"
            f"{h.registered_occupants},{h.use}\n"
            for h in city.households
        )
    )
    readings.write_text(
        "household_id,month,water_m3,electricity_kwh,gas_m3\n"
        + "".join(
            f"{r.household_id},{r.month},{r.water_m3},{r.electricity_kwh},{r.gas_m3}\n"
            for r in city.readings
        )
    )
    return households, readings


def test_detect_writes_ranked_leads_as_csv_and_json(tmp_path: Path) -> None:
    households, readings = _files(tmp_path)
    args = [
        "ops",
        "rentals",
        "detect",
        "--households",
        str(households),
        "--readings",
        str(readings),
    ]
    shown = runner.invoke(app, [*args, "--top", "3"])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "household_id,score,reasons"
    assert 1 < len(lines) <= 4
    out = tmp_path / "leads.json"
    written = runner.invoke(app, [*args, "--out", str(out)])
    assert written.exit_code == 0, written.output
    leads = json.loads(out.read_text())
    assert set(leads[0]) == {"household_id", "score", "reasons"}
    assert [x["score"] for x in leads] == sorted((x["score"] for x in leads), reverse=True)


def test_detect_refuses_a_broken_file_with_exit_2(tmp_path: Path) -> None:
    households, readings = _files(tmp_path)
    lines = readings.read_text().splitlines()
    lines[5] = lines[5].replace(",", ",-", 2).replace(",-", ",", 1)  # negative water
    readings.write_text("\n".join(lines) + "\n")
    out = tmp_path / "leads.csv"
    result = runner.invoke(
        app,
        [
            "ops",
            "rentals",
            "detect",
            "--households",
            str(households),
            "--readings",
            str(readings),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert f"{readings}: row 6, column water_m3: is negative" in result.stderr
    assert not out.exists()
