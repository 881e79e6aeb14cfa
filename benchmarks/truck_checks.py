"""Muck-truck checks: positions checked per second on one core, against a bare STRtree query.

Builds ``--trucks`` trucks, each with a permit (a straight route of about 8 km in Pudong, a
50 m corridor, night hours), two sites per route and ``--zones`` no-go zones, then
``--fixes`` positions per truck every 10 s along its route (with GPS noise and a detour
planted on one truck in ten). In the same run it times:

- the bare floor: a shapely ``STRtree`` of the same corridors, sites and zones (in metres,
  built beforehand, as the scene is), queried with every position projected to metres
  (``predicate="intersects"``, vectorised), nothing else;
- ``Scene.check_all``: every check of ``checks.py`` (corridor, hours, permit, speed, no-go,
  stops, silence) with its hysteresis, building episodes, over whole stored tracks (the sweep);
- ``LiveChecker.feed``: the same checks as positions arrive (``live.py``), the positions in
  time order across the fleet in batches of ``--batch`` (the consumer's batch), each truck's
  state carried from batch to batch, reporting each episode once per trip.

Aim: the checks at least 50% of the bare rate. Bounded: the best of ``--rounds`` rounds.

    .venv/bin/python benchmarks/truck_checks.py [--trucks N] [--fixes N] [--zones N]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from twonets.operations.trucks.checks import Fix, Hours, Permit, Rules, Scene, Zone, ZoneKind
from twonets.operations.trucks.geometry import LocalFrame
from twonets.operations.trucks.live import LiveChecker

START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
CENTRE = (121.56, 31.22)


def _world(trucks: int, fixes: int, zones: int, seed: int = 7) -> tuple[Scene, list[Fix]]:
    rnd = random.Random(seed)
    frame = LocalFrame(*CENTRE)
    permits, shapes, positions = [], [], []
    night = Hours.parse("22:00-05:00")
    for n in range(trucks):
        x0, y0 = rnd.uniform(-15_000, 15_000), rnd.uniform(-15_000, 15_000)
        angle = rnd.uniform(0, 2 * np.pi)
        x1, y1 = x0 + 8_000 * np.cos(angle), y0 + 8_000 * np.sin(angle)
        route = frame.to_degrees(LineString([(x0, y0), (x1, y1)]))
        plate = f"沪D{n:05d}"
        origin, destination = f"site {n}a", f"site {n}b"
        shapes.append(
            Zone(origin, ZoneKind.CONSTRUCTION_SITE, frame.to_degrees(Point(x0, y0).buffer(150)))
        )
        shapes.append(
            Zone(destination, ZoneKind.DISPOSAL_SITE, frame.to_degrees(Point(x1, y1).buffer(150)))
        )
        permits.append(
            Permit(
                plate,
                origin,
                destination,
                route,
                50.0,
                date(2026, 11, 1),
                date(2026, 12, 31),
                night,
            )
        )
        for i in range(fixes):
            t = i / max(fixes - 1, 1)
            off = 300.0 if n % 10 == 0 and 0.4 < t < 0.5 else rnd.gauss(0, 8)
            x = x0 + (x1 - x0) * t - off * np.sin(angle)
            y = y0 + (y1 - y0) * t + off * np.cos(angle)
            lon, lat = frame.lonlat(np.array([x]), np.array([y]))
            positions.append(
                Fix(plate, START + timedelta(seconds=10 * i), float(lon[0]), float(lat[0]), 40.0)
            )
    for z in range(zones):
        x, y = rnd.uniform(-15_000, 15_000), rnd.uniform(-15_000, 15_000)
        shapes.append(Zone(f"no-go {z}", ZoneKind.NO_GO, frame.to_degrees(Point(x, y).buffer(200))))
    return Scene(permits, shapes, Rules()), positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trucks", type=int, default=200)
    parser.add_argument("--fixes", type=int, default=360, help="per truck (10 s apart)")
    parser.add_argument("--zones", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="positions per live batch")
    args = parser.parse_args()
    scene, fixes = _world(args.trucks, args.fixes, args.zones)
    count = len(fixes)
    frame = scene.frame
    polygons = [frame.to_metres(p.route).buffer(p.corridor_m) for p in scene.permits]
    polygons += [frame.to_metres(z.polygon) for z in scene.zones]
    lon = np.array([f.lon for f in fixes])
    lat = np.array([f.lat for f in fixes])

    tree = shapely.STRtree(polygons)  # built once, as the scene's shapes are

    def bare() -> int:
        x, y = frame.xy(lon, lat)
        hits = tree.query(shapely.points(x, y), predicate="intersects")
        return int(hits.shape[1])

    def checks() -> int:
        return len(scene.check_all(fixes))

    arrivals = sorted(fixes, key=lambda f: f.time)

    def live() -> int:
        checker = LiveChecker(scene)
        reports = 0
        for k in range(0, len(arrivals), args.batch):
            reports += len(checker.feed(arrivals[k : k + args.batch]))
        return reports

    best: dict[str, float] = {}
    results: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, run in (
            ("bare STRtree point-in-polygon", bare),
            ("Scene.check_all", checks),
            ("LiveChecker.feed", live),
        ):
            began = time.perf_counter()
            results[name] = run()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - began)
    print(f"{args.trucks} trucks, {count} positions, {len(polygons)} shapes")
    for name, seconds in best.items():
        print(f"  {name:<32} {count / seconds:>12,.0f} positions/s  ({results[name]} results)")
    floor = best["bare STRtree point-in-polygon"]
    for name in ("Scene.check_all", "LiveChecker.feed"):
        print(f"  {name} runs at {floor / best[name]:.0%} of the bare rate (aim: at least 50%)")
    need = 10_000 / 10
    for name in ("Scene.check_all", "LiveChecker.feed"):
        print(
            f"  10,000 trucks every 10 s need {need:,.0f} positions/s: {name} "
            f"does {count / best[name] / need:.1f}x that on one core"
        )


if __name__ == "__main__":
    main()
