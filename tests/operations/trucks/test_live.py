"""Checks as positions arrive: the same episodes as the whole-track checks, one report per
episode and trip, fixes fed one at a time or in batches."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from operations.trucks.test_checks import DUMP, NIGHT, PERMIT, PLATE, SCHOOL, SITE, _along, _drive
from twonets.operations.trucks.checks import Fix, Kind, Scene
from twonets.operations.trucks.live import Change, LiveChecker, Report

SCENE = Scene([PERMIT], [SITE, DUMP, SCHOOL])


def _feed(fixes: list[Fix], *, batch: int = 1, scene: Scene = SCENE) -> list[Report]:
    checker = LiveChecker(scene)
    out: list[Report] = []
    for i in range(0, len(fixes), batch):
        out += checker.feed(fixes[i : i + batch])
    return out


def _started(reports: list[Report]) -> list[tuple[Kind, object]]:
    return sorted(
        (r.episode.kind, r.episode.start) for r in reports if r.change is not Change.CLOSED
    )


def test_a_clean_trip_reports_nothing_and_noise_does_not_alert() -> None:
    north = [0.0] * 60
    north[30] = 400.0
    north[40] = north[41] = 120.0
    assert _feed(_drive(_along(60))) == []
    assert _feed(_drive(_along(60), north_m=north)) == []


def test_a_wavering_detour_is_one_opened_episode_then_closed() -> None:
    north = [0.0] * 60
    for i in range(20, 30):
        north[i] = 300.0 if i % 3 else 30.0
    fixes = _drive(_along(60), north_m=north)
    reports = _feed(fixes)
    assert [(r.change, r.episode.kind) for r in reports] == [
        (Change.OPENED, Kind.OFF_ROUTE),
        (Change.CLOSED, Kind.OFF_ROUTE),
    ]
    opened, closed = reports
    # Reported as soon as the third marked fix over a minute arrived, not at the end.
    assert opened.episode.start == fixes[20].time
    assert opened.episode.end < closed.episode.end == fixes[29].time
    assert opened.trip == fixes[0].time


def test_a_second_detour_in_the_same_trip_is_a_repeat_not_a_new_alert() -> None:
    north = [0.0] * 80
    for i in [*range(20, 26), *range(50, 56)]:
        north[i] = 300.0
    reports = _feed(_drive(_along(80), north_m=north))
    changes = [r.change for r in reports if r.episode.kind is Kind.OFF_ROUTE]
    assert changes == [Change.OPENED, Change.CLOSED, Change.REPEAT, Change.CLOSED]


def test_after_a_long_silence_a_new_trip_alerts_again() -> None:
    north = [0.0] * 30
    for i in range(10, 16):
        north[i] = 300.0
    first = _drive(_along(30), north_m=north)
    again = _drive(_along(30), north_m=north, start=first[-1].time + timedelta(hours=1))
    reports = _feed(first + again)
    opened = [r for r in reports if r.change is Change.OPENED]
    # The truck was moving when it fell silent for an hour: that is reported too.
    assert [r.episode.kind for r in opened] == [Kind.OFF_ROUTE, Kind.SILENT, Kind.OFF_ROUTE]
    assert opened[2].trip == again[0].time


def test_a_stop_outside_the_sites_is_dumping_once_and_a_late_fix_is_not_checked() -> None:
    lons = _along(40)
    track = _drive(lons[:20] + [lons[20]] * 20 + lons[20:])
    reports = _feed(track, batch=7)
    dumping = [r for r in reports if r.episode.kind is Kind.SUSPECTED_DUMPING]
    assert [r.change for r in dumping] == [Change.OPENED, Change.CLOSED]
    assert dumping[0].episode.start == track[19].time or dumping[0].episode.start == track[20].time
    checker = LiveChecker(SCENE)
    checker.feed(track)
    assert checker.feed([track[5]]) == []  # a blind-area upload of an old fix


def test_silence_is_reported_while_it_lasts_and_once() -> None:
    fixes = _drive(_along(10))
    checker = LiveChecker(SCENE)
    checker.feed(fixes)
    assert checker.silences(fixes[-1].time + timedelta(seconds=200)) == []
    (report,) = checker.silences(fixes[-1].time + timedelta(seconds=400))
    assert report.episode.kind is Kind.SILENT
    assert report.change is Change.OPENED
    assert checker.silences(fixes[-1].time + timedelta(seconds=900)) == []


def test_the_same_episodes_as_the_whole_track_on_the_planted_kinds() -> None:
    north = [0.0] * 60
    for i in range(20, 30):
        north[i] = 300.0
    afternoon = NIGHT - timedelta(hours=9)
    tracks = [
        _drive(_along(60), north_m=north),
        _drive(_along(30), start=afternoon),
        _drive(_along(30), speed=80.0),
        _drive(_along(30), plate="沪D99999"),
    ]
    for track in tracks:
        assert _started(_feed(track)) == sorted((e.kind, e.start) for e in SCENE.check(track))


@settings(max_examples=60, deadline=None)
@given(
    north=st.lists(st.sampled_from([0.0, 20.0, 120.0, 400.0]), min_size=5, max_size=60),
    speeds=st.lists(st.sampled_from([0.0, 30.0, 70.0]), min_size=60, max_size=60),
    batch=st.integers(1, 25),
)
def test_run_kinds_match_the_whole_track_checks(
    north: list[float], speeds: list[float], batch: int
) -> None:
    track = [
        Fix(PLATE, f.time, f.lon, f.lat, speeds[i])
        for i, f in enumerate(_drive(_along(len(north)), north_m=north))
    ]
    run_kinds = {Kind.OFF_ROUTE, Kind.SPEEDING, Kind.OUT_OF_HOURS, Kind.NO_PERMIT}
    live = [k for k in _started(_feed(track, batch=batch)) if k[0] in run_kinds]
    whole = sorted((e.kind, e.start) for e in SCENE.check(track) if e.kind in run_kinds)
    assert live == whole
