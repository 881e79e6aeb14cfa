"""Group-rental detection over a city's households against a bare DuckDB GROUP BY.

In the same run and on the same synthetic readings (``--households`` households × 12 months,
buildings of 24, three districts, seasonal consumption with lognormal noise, 3% planted group
rentals, generated with numpy so that generating is not what is measured):

- **bare**: one DuckDB ``GROUP BY household_id`` summing the three utilities over the same
  Arrow table, fetched as Arrow: the floor of any per-household pass over the readings;
- **detection**: ``engine.duckdb_features`` (the Ibis expression on DuckDB: peers' medians
  per building and district and month, MAD, robust z-scores, steps, shares) and
  ``detection.rank`` with ``--top`` (the rules and the IsolationForest over every household,
  reasons worded for the ``--top`` leads returned, as ``twonets ops rentals detect --top``);
- **new month, kept** (``monthly.KeptMonths``): the kept figures of the first 11 months,
  each household's totals over them and the early months' means prepared beforehand (not
  timed: each was computed when its readings arrived, the early means by last month's
  detection), then timed: the 12th month's figures computed from its readings and kept, its
  totals added to the households' (a join), the year's features from the totals, the early
  means and the recent months' rows, the rules, the forest and the reasons for the
  ``--top`` leads. Its features are compared with the cold
  path's (how many values differ beyond 1e-9) and its top leads with the cold path's.

Then **the floor**: the steps a new month cannot leave out (its peers' medians, what it keeps
and scores handed over as Arrow, the forest), each measured alone in raw DuckDB and
scikit-learn against the same bare GROUP BY: the lowest ratio the kept path could reach with
every other step free.

Aim: detection at most 3× the bare GROUP BY. Each is measured ``--repeat`` times, the two
interleaved, the best kept (on a shared machine one run mostly measures the neighbours); the
CPU time (all threads) is printed beside the wall time. Also prints the features' time alone,
the share of planted rentals found (over all households that pass, not only the top), and
where DuckDB spends the features' time (its profiler, per kind of operator), so a fast but
blind run cannot pass for a good one and a slow one says why.

    .venv/bin/python benchmarks/rentals_detection.py [--households N] [--top K] [--seed S]
        [--repeat R] [--platform N [--platform-only] [--platform-database sqlite|postgresql]]

``--platform N`` adds the platform's own path for a new month (``service_kept``: the
database's reads and writes included) over a city of N households, on a SQLite file or on
a PostgreSQL database made for the run (``--platform-database postgresql``).

The new month's readings are handed over alone (as they arrive); the bare GROUP BY and the
kept figures are Arrow tables read by DuckDB: both as detection would meet them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import bench_db
import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, select
from sqlalchemy.orm import sessionmaker

from twonets import migrations
from twonets.core.db import make_engine, unit_of_work
from twonets.operations.rentals import cursor, detection, engine, model, monthly, service_kept
from twonets.operations.rentals.models import Household, Reading

DISTRICTS = np.array(["310115", "310104", "310112"])
NOW = datetime(2026, 12, 7, tzinfo=UTC)
MONTHS = 12


def synthetic_city(
    households: int, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table, set[str]]:
    """Households and 12 months of readings (Arrow), and the planted rentals' ids."""
    n = households
    ids = np.char.add("H", np.char.zfill(np.arange(1, n + 1).astype(str), 8))
    building = np.arange(n) // 24
    rooms = rng.choice([1, 2, 2, 3, 3, 4], n)
    area = np.round(rng.uniform(22, 32, n) * rooms + rng.uniform(0, 15, n), 1)
    registered = np.clip(np.round(rng.normal(rooms * 0.9 + 0.5, 0.8)), 1, rooms + 1).astype(int)
    rental = rng.random(n) < 0.03
    people = np.where(rental, 2 * rooms + rng.integers(2, 2 + 2 * rooms + 1), registered)
    start = np.where(rental, rng.choice([1, 1, 4, 7, 10], n), 1)
    homes = pa.table(
        {
            "household_id": ids,
            "building_id": np.char.add("B", building.astype(str)),
            "district": DISTRICTS[building % 3],
            "area_m2": area.astype(np.float64),
            "rooms": rooms.astype(np.int64),
            "registered_occupants": registered.astype(np.int64),
            "use": np.full(n, "residential"),
        },
        schema=engine.HOUSEHOLD_SCHEMA,
    )
    month = np.tile(np.arange(1, MONTHS + 1), n)
    here = np.where(month >= np.repeat(start, MONTHS), np.repeat(people, MONTHS), 0)
    here = np.where(here == 0, np.repeat(registered, MONTHS), here).astype(np.float64)
    size = n * MONTHS
    power_season = 1.0 + 0.35 * np.cos((month - 7.5) * np.pi / 3) ** 2
    gas_season = 1.0 + 0.6 * np.cos((month - 1) * np.pi / 12) ** 2
    taste = {u: np.repeat(rng.lognormal(0, 0.15, n), MONTHS) for u in ("w", "e", "g")}
    crowded = here > np.repeat(registered, MONTHS)
    readings = pa.table(
        {
            "household_id": np.repeat(ids, MONTHS),
            "month": np.char.add("2026-", np.char.zfill(month.astype(str), 2)),
            "water_m3": np.round(taste["w"] * rng.lognormal(0, 0.12, size) * (3.2 * here + 0.5), 2),
            "electricity_kwh": np.round(
                taste["e"] * power_season * rng.lognormal(0, 0.12, size) * (75 * here + 40), 1
            ),
            "gas_m3": np.round(
                taste["g"] * gas_season * rng.lognormal(0, 0.12, size) * (5.0 * here + 2.0), 2
            ),
            "night_share": np.round(rng.uniform(0.25, 0.35, size), 3),
            "weekend_share": np.round(rng.uniform(0.25, 0.33, size), 3),
            # A crowded home's day is flatter: a smaller peak-valley difference.
            "peak_valley": np.round(
                np.where(crowded, rng.uniform(0.12, 0.3, size), rng.uniform(0.35, 0.55, size)), 3
            ),
        },
        schema=engine.READING_SCHEMA,
    )
    return homes, readings, {str(x) for x in ids[rental]}


def bare_group_by(readings: pa.Table) -> pa.Table:
    """The baseline: one GROUP BY over the readings, fetched as Arrow."""
    con = duckdb.connect()
    try:
        con.register("readings", readings)
        return con.sql(
            "SELECT household_id, sum(water_m3) AS w, sum(electricity_kwh) AS e, sum(gas_m3) AS g"
            " FROM readings GROUP BY household_id"
        ).to_arrow_table()
    finally:
        con.close()


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def where_time_goes(homes: pa.Table, readings: pa.Table) -> dict[str, float]:
    """The features' query once more under DuckDB's profiler: seconds per kind of operator."""
    con = ibis.duckdb.connect()
    out: dict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.json"
        try:
            con.con.register("households", homes)
            con.con.register("readings", readings)
            expr = engine.feature_table(con.table("households"), con.table("readings"))
            sql = str(ibis.to_sql(expr.order_by("household_id"), dialect="duckdb"))
            con.con.sql("PRAGMA enable_profiling = 'json'")
            con.con.sql(f"PRAGMA profiling_output = '{path}'")
            con.con.sql(sql).to_arrow_table()
            con.con.sql("PRAGMA disable_profiling")
        finally:
            con.disconnect()
        nodes = [json.loads(path.read_text())]
        while nodes:
            node = nodes.pop()
            nodes.extend(node.get("children", []))
            name = str(node.get("operator_name") or node.get("operator_type") or "").strip()
            if not name:
                continue
            extra = node.get("extra_info") or {}
            if name == "HASH_GROUP_BY":
                aggregates = str(extra.get("Aggregates", ""))
                name += " (medians)" if "quantile" in aggregates else " (sums, means)"
            out[name] += float(node.get("operator_timing") or 0.0)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def features_differ(cold: pa.Table, kept: pa.Table) -> int:
    """How many feature values of the kept path differ from the cold path's (beyond 1e-9)."""
    kept = kept.sort_by("household_id")
    if kept.num_rows != cold.num_rows:
        return int(abs(kept.num_rows - cold.num_rows))
    differ = 0
    for name in engine.FEATURE_COLUMNS:
        a, b = cold.column(name), kept.column(name)
        if pa.types.is_floating(a.type):
            x = a.to_numpy(zero_copy_only=False).astype(np.float64)
            y = b.to_numpy(zero_copy_only=False).astype(np.float64)
            close = np.isclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)
            differ += int((~close).sum())
        else:
            differ += int((~pc.equal(a, b).to_numpy(zero_copy_only=False)).sum())
    return differ


class Kept:
    """The kept monthly figures of every month but the last (``monthly.KeptMonths``).

    Prepared before the timing (a month's figures are computed when its readings arrive);
    :meth:`detect` is what is timed: the new month's figures added to the kept ones (and its
    totals to the households'), the year's features from the totals and the recent and early
    months' rows, scoring and reasons.
    """

    def __init__(self, homes: pa.Table, readings: pa.Table) -> None:
        months = readings.column("month")
        self.homes = homes
        self.last = str(pc.max(months).as_py())
        self.first = str(pc.min(months).as_py())
        self.new = readings.filter(pc.equal(months, self.last))
        self.store = monthly.KeptMonths()
        earlier = sorted(set(pc.unique(months).to_pylist()) - {self.last})
        self.store.add(homes, readings.filter(pc.not_equal(months, self.last)), earlier)
        # The features as detection computed them last month: the early months' means kept.
        self.store.features(homes, (self.first, earlier[-1]))
        self.before = (dict(self.store.months), self.store.totals)
        # Seconds of the last detect's steps: the month's figures, the features, scoring.
        self.split: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def forget_new(self) -> None:
        """The kept figures and totals as before the new month (not timed)."""
        self.store.months, self.store.totals = dict(self.before[0]), self.before[1]

    def detect(self, top: int) -> tuple[pa.Table, list[detection.Lead]]:
        """The new month's figures kept, the year's features from kept rows, the leads."""
        began = time.perf_counter()
        # One reading per household and month, as the platform's unique constraint promises.
        self.store.add(self.homes, self.new, [self.last], unique=True)
        kept = time.perf_counter()
        # Ordered as the cold path's: the forest's sample is drawn by row, so the same order
        # gives the same leads.
        table = self.store.features(self.homes, (self.first, self.last))
        featured = time.perf_counter()
        leads = detection.rank(table, top=top)
        self.split = (kept - began, featured - kept, time.perf_counter() - featured)
        return table, leads


class Platform:
    """The platform's detection of a new month (``service_kept``) on SQLite or PostgreSQL.

    Prepared (not timed): the schema by the migrations, the households and the first 11
    months' readings inserted, those months' figures and the households' totals kept
    (``service_kept.refresh``) and the early means by last month's detection
    (``service_kept.features``), the 12th month's readings inserted. :meth:`detect` is what
    is timed, in a transaction rolled back after: ``service_kept.refresh`` (the new month's
    figures computed and written, its totals added to the kept ones and written),
    ``service_kept.features`` (the households, the kept totals and early means and the recent
    months' kept figures read from the database) and ``detection.rank``; not the leads'
    writing (``service.detect_leads`` does that too).
    """

    def __init__(self, homes: pa.Table, readings: pa.Table, url: str) -> None:
        migrations.upgrade(url)
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine)
        months = readings.column("month")
        last = str(pc.max(months).as_py())
        with unit_of_work(self.factory) as session:
            # Arrow tables on the driver's cursor (COPY on PostgreSQL): preparing a million
            # households through the ORM's inserts would take most of an hour.
            cursor.write_table(
                session,
                cast(Table, Household.__table__),
                homes.rename_columns(
                    ["district_code" if n == "district" else n for n in homes.column_names]
                ),
            )
            self.keys = cursor.read(
                session,
                select(Household.household_id, Household.id),
                pa.schema([("household_id", pa.string()), ("household_pk", pa.int64())]),
            )
        self._insert(readings.filter(pc.not_equal(months, last)))
        with unit_of_work(self.factory) as session:
            service_kept.refresh(session, None, now=NOW)
            service_kept.features(session, None)  # last month's: the early means kept
        self._insert(readings.filter(pc.equal(months, last)))
        self.split: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _insert(self, readings: pa.Table) -> None:
        # The readings' columns are the table's, the household's id turned into its key.
        with unit_of_work(self.factory) as session:
            cursor.write_table(
                session,
                cast(Table, Reading.__table__),
                service_kept.keyed(self.keys, readings),
            )

    def forget_new(self) -> None:
        """Nothing to forget: each detection's writes are rolled back when it is timed."""

    def detect(self, top: int) -> tuple[pa.Table, list[detection.Lead]]:
        """The new month's figures and totals kept, the features from them, the leads."""
        with self.factory() as session:
            began = time.perf_counter()
            service_kept.refresh(session, None, now=NOW)
            kept = time.perf_counter()
            table = service_kept.features(session, None)
            featured = time.perf_counter()
            leads = detection.rank(table, top=top)
            self.split = (kept - began, featured - kept, time.perf_counter() - featured)
            session.rollback()
        return table, leads


@dataclass
class Timed:
    """The bare GROUP BY and a case's detection, each the best of the rounds (wall and CPU)."""

    bare: float = float("inf")
    bare_cpu: float = float("inf")
    took: float = float("inf")
    took_cpu: float = float("inf")
    split: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the case's, in its fastest round
    table: pa.Table = field(default_factory=lambda: pa.table({}))
    leads: list[detection.Lead] = field(default_factory=list)


def paired(case: Kept | Platform, readings: pa.Table, top: int, repeat: int) -> Timed:
    """``repeat`` rounds of the bare GROUP BY, then the case's detection of the new month."""
    timed = Timed()
    for _ in range(repeat):
        began, cpu = time.perf_counter(), cpu_seconds()
        bare_group_by(readings)
        timed.bare = min(timed.bare, time.perf_counter() - began)
        timed.bare_cpu = min(timed.bare_cpu, cpu_seconds() - cpu)
        case.forget_new()
        began, cpu = time.perf_counter(), cpu_seconds()
        timed.table, timed.leads = case.detect(top)
        wall, cpu = time.perf_counter() - began, cpu_seconds() - cpu
        if wall < timed.took:
            timed.took, timed.split = wall, case.split
        timed.took_cpu = min(timed.took_cpu, cpu)
    return timed


def platform_case(
    households: int, top: int, repeat: int, rng: np.random.Generator, kind: str
) -> None:
    """The platform's new month (:class:`Platform`) against the bare GROUP BY, same run."""
    homes, readings, _ = synthetic_city(households, rng)
    cold = engine.duckdb_features(homes, readings)
    cold_leads = detection.rank(cold, top=top)
    with bench_db.database(kind) as url:
        began = time.perf_counter()
        kept = Platform(homes, readings, url)
        print(
            f"platform ({households:,} households, {kind}): the {MONTHS - 1} earlier months "
            f"kept in {time.perf_counter() - began:.1f} s (not timed)"
        )
        t = paired(kept, readings, top, repeat)
        kept.engine.dispose()
    same = [lead.household_id for lead in t.leads] == [lead.household_id for lead in cold_leads]
    print(f"bare GROUP BY      {t.bare:7.2f} s  (CPU {t.bare_cpu:.2f} s)")
    print(
        f"platform new month {t.took:7.2f} s  ({t.took / t.bare:.1f}x; "
        f"CPU {t.took_cpu:.2f} s, {t.took_cpu / t.bare_cpu:.1f}x)"
    )
    print(
        f"  of which: refresh (figures and totals kept) {t.split[0]:.2f} s, the features from "
        f"the kept totals {t.split[1]:.2f} s, scoring and reasons {t.split[2]:.2f} s"
    )
    print(f"features differing from the cold path: {features_differ(cold, t.table)}")
    print(f"the same top {len(cold_leads):,} leads in the same order: {same}")


# Each building's three medians per registered occupant over the new month's readings.
PEERS = (
    "SELECT h.building_id,"
    " median(r.water_m3 / h.registered_occupants) AS water,"
    " median(r.electricity_kwh / h.registered_occupants) AS electricity,"
    " median(r.gas_m3 / h.registered_occupants) AS gas"
    " FROM new AS r JOIN homes AS h USING (household_id) GROUP BY h.building_id"
)


def floor(readings: pa.Table, kept: Kept, features: pa.Table, repeat: int) -> None:
    """The least a new month's detection does, each step alone, against the bare GROUP BY.

    Steps no detection of this design can leave out, each measured bare (raw DuckDB and
    scikit-learn, nothing else in it), interleaved with the bare GROUP BY, best of
    ``repeat``: the month's peers (its readings joined to their households, three medians
    per building; not yet the district's medians, the MAD, the ratios or the z-scores); what
    the month keeps and what is scored handed over from DuckDB as Arrow (a plain ``SELECT *``
    of the tables the kept path produces, none of their arithmetic); the forest fitted and
    scoring the households the rules pass. Their sum against the bare GROUP BY is the lowest
    ratio the kept path could reach with every other step free.
    """
    figures = kept.store.months[kept.last]
    totals = kept.store.totals if kept.store.totals is not None else pa.table({})
    passed = model.score(features).rule > 0
    con = duckdb.connect()
    try:
        for name, table in {
            "homes": kept.homes,
            "new": kept.new,
            "features": features,
            "figures": figures,
            "totals": totals,
        }.items():
            # In DuckDB's row groups, so that its threads share the scan (a sorted table is one
            # chunk of a million rows, which one thread would scan: twice the time).
            batches = table.combine_chunks().to_batches(max_chunksize=122_880)
            con.register(name, pa.Table.from_batches(batches, schema=table.schema))

        def handed(name: str) -> pa.Table:
            return con.sql(f"SELECT * FROM {name}").to_arrow_table()

        steps: dict[str, Callable[[], object]] = {
            "the month's peers (join, 3 medians per building)": lambda: con.sql(
                PEERS
            ).to_arrow_table(),
            f"the month's figures handed over ({figures.num_columns} columns)": lambda: handed(
                "figures"
            ),
            f"the totals handed over ({totals.num_columns} columns)": lambda: handed("totals"),
            f"the features handed over ({features.num_columns} columns)": lambda: handed(
                "features"
            ),
            f"the forest (fit, score {int(passed.sum()):,} households)": lambda: model.anomaly(
                model.Columns(features), passed
            ),
        }
        best = dict.fromkeys(steps, float("inf"))
        bare = float("inf")
        for _ in range(repeat):
            began = time.perf_counter()
            bare_group_by(readings)
            bare = min(bare, time.perf_counter() - began)
            for name, step in steps.items():
                began = time.perf_counter()
                step()
                best[name] = min(best[name], time.perf_counter() - began)
    finally:
        con.close()
    print("the floor: steps a new month cannot leave out, each alone (best of the rounds):")
    for name, seconds in best.items():
        print(f"  {name:52s} {seconds:6.3f} s")
    total = sum(best.values())
    print(f"  {'together':52s} {total:6.3f} s  ({total / bare:.1f}x the bare {bare:.3f} s)")


def main() -> None:
    """Run both measurements and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--top", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--platform",
        type=int,
        default=0,
        metavar="N",
        help="also time the platform's new month over N households in a database (0: not)",
    )
    parser.add_argument("--platform-only", action="store_true")
    parser.add_argument(
        "--platform-database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the platform's database: a SQLite file, or a PostgreSQL database made for the run",
    )
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, DuckDB {duckdb.__version__}")
    rng = np.random.default_rng(args.seed)
    if args.platform:
        platform_case(
            args.platform,
            args.top,
            args.repeat,
            np.random.default_rng(args.seed),
            args.platform_database,
        )
        if args.platform_only:
            return
    began = time.perf_counter()
    homes, readings, planted = synthetic_city(args.households, rng)
    print(
        f"generated {homes.num_rows:,} households, {readings.num_rows:,} readings "
        f"in {time.perf_counter() - began:.1f} s"
    )

    bare_group_by(readings)  # warm DuckDB once, as detection's first call would
    bare = featured = total = float("inf")
    bare_cpu = total_cpu = float("inf")
    table = pa.table({})
    leads: list[detection.Lead] = []
    for _ in range(args.repeat):
        began, cpu = time.perf_counter(), cpu_seconds()
        summed = bare_group_by(readings)
        bare = min(bare, time.perf_counter() - began)
        bare_cpu = min(bare_cpu, cpu_seconds() - cpu)
        assert summed.num_rows == homes.num_rows

        began, cpu = time.perf_counter(), cpu_seconds()
        table = engine.duckdb_features(homes, readings)
        featured = min(featured, time.perf_counter() - began)
        leads = detection.rank(table, top=args.top)
        total = min(total, time.perf_counter() - began)
        total_cpu = min(total_cpu, cpu_seconds() - cpu)

    found = detection.lead_ids(table)
    hits = len(found & planted)
    top_hits = sum(1 for lead in leads if lead.household_id in planted)
    print(f"bare GROUP BY      {bare:7.2f} s  (CPU {bare_cpu:.2f} s)")
    print(f"features (Ibis)    {featured:7.2f} s  ({featured / bare:.1f}x)")
    print(
        f"detection in all   {total:7.2f} s  ({total / bare:.1f}x; aim at most 3x; "
        f"CPU {total_cpu:.2f} s, {total_cpu / bare_cpu:.1f}x)"
    )
    print(f"leads              {len(found):,}; planted rentals {len(planted):,}")
    print(f"precision          {hits / max(len(found), 1):.3f}")
    print(f"recall             {hits / max(len(planted), 1):.3f}")
    print(f"precision@{len(leads):<8,} {top_hits / max(len(leads), 1):.3f}")
    print("where the features' time goes (DuckDB's profiler, seconds per kind of operator):")
    for name, seconds in list(where_time_goes(homes, readings).items())[:8]:
        print(f"  {name:28s} {seconds:6.2f}")

    began = time.perf_counter()
    kept = Kept(homes, readings)
    print(
        f"kept figures of the {MONTHS - 1} earlier months prepared in "
        f"{time.perf_counter() - began:.1f} s (not timed)"
    )
    t = paired(kept, readings, args.top, args.repeat)
    same = [lead.household_id for lead in t.leads] == [lead.household_id for lead in leads]
    print(f"bare GROUP BY      {t.bare:7.2f} s  (CPU {t.bare_cpu:.2f} s)")
    print(
        f"new month, kept    {t.took:7.2f} s  ({t.took / t.bare:.1f}x; aim at most 3x; "
        f"CPU {t.took_cpu:.2f} s, {t.took_cpu / t.bare_cpu:.1f}x)"
    )
    print(
        f"  of which: the month's figures {t.split[0]:.2f} s, the features from kept rows "
        f"{t.split[1]:.2f} s, scoring and reasons {t.split[2]:.2f} s"
    )
    print(f"features differing from the cold path: {features_differ(table, t.table)}")
    print(f"the same top {len(leads):,} leads in the same order: {same}")
    floor(readings, kept, t.table, args.repeat)


if __name__ == "__main__":
    main()
