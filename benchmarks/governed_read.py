"""Headline figure: the cost of the one door (aim: a governed read at most 2x the raw query).

A department reads 1,000 residents of ``core.citizen`` through ``governance.service.read``:
purpose check, policy lookup, only the granted fields, sealed fields opened, each field
masked, and the read recorded for the ledger (one pending row naming the 1,000 subjects,
expanded by the sequencer into one hash-chained entry per subject, off the read path).
The baseline, measured in the same run on the same SQLite file, is the raw query of the
same rows and the same columns
(``session.execute(select(...)).all()``: no masking, no ledger). Two policies:

- masked: name keep, phone partial:3:4, id_number partial:6:4, birth_date year, address keep;
- masked + sealed: the same, plus the sealed home_lon/home_lat opened and cut to grid:500.

Each operation runs ``--repeat`` times after a warm-up, each run in its own transaction that
is rolled back (so the pending table does not grow); the script prints median and p90 in ms,
the ratio governed/raw of the medians and whether it meets the aim (2x masked, 3x sealed).
Times are CPU seconds of this process (SQLite runs in it), not wall-clock seconds. It also times
``ledger.sequence_pending`` turning 10 pending reads of 1,000 subjects into 10,000 entries
(entries per second). ``--profile``
adds a cProfile of the sealed case, the 25 most expensive functions by own time.

    .venv/bin/python benchmarks/governed_read.py [--residents N] [--repeat N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from twonets import migrations
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_id_number
from twonets.core.models import Citizen, DepartmentLevel, Role
from twonets.governance import ledger
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import GranteeKind, LegalBasis
from twonets.governance.sealing import Keyring
from twonets.governance.service import Governance, ReadQuery, create_purpose, read, set_policy

ROWS = 1000
PENDING = 10_000
ROOT_SECRET = b"benchmark-root-secret-32-bytes!!"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DATASET = "core.citizen"
DEPARTMENT = "sh.health"
MASKED = {
    "name": "keep",
    "phone": "partial:3:4",
    "id_number": "partial:6:4",
    "birth_date": "year",
    "address": "keep",
}
SEALED = {**MASKED, "home_lon": "grid:500", "home_lat": "grid:500"}
# purpose code, label, policy fields, aim (governed / raw at most)
CASES: tuple[tuple[str, str, dict[str, str], float], ...] = (
    ("bench.masked", "masked (5 fields)", MASKED, 2.0),
    ("bench.sealed", "masked + 2 sealed, grid:500", SEALED, 3.0),
)
DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112")


@dataclass
class Bench:
    """The database and the reader of one run."""

    engine: Engine
    factory: sessionmaker[Session]
    gov: Governance
    reader: Principal


def seed_residents(session: Session, count: int) -> None:
    """``count`` residents with valid ID numbers and sealed home locations, in one insert."""
    keyring = Keyring(ROOT_SECRET)
    rows = []
    for i in range(count):
        birth = date(1950, 1, 1) + timedelta(days=i // 1000 * 37 + i % 7)
        district = DISTRICTS[i % len(DISTRICTS)]
        rows.append(
            {
                "id_number": make_id_number(district, birth, i % 1000),
                "name": f"居民{i:05d}",
                "birth_date": birth,
                "sex": "male" if i % 2 else "female",
                "phone": f"139{i:08d}",
                "district_code": district,
                "address": f"上海市南京东路{i}号",
                "home_lon": keyring.seal(DATASET, "home_lon", f"{121.40 + i % 97 / 1000:.6f}"),
                "home_lat": keyring.seal(DATASET, "home_lat", f"{31.20 + i % 89 / 1000:.6f}"),
                "created_at": NOW,
            }
        )
    session.execute(insert(Citizen), rows)


def build(folder: Path, residents: int) -> Bench:
    """A migrated SQLite file with residents, a department, its reader and both policies."""
    url = f"sqlite:///{folder / 'bench.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    catalogue = Catalogue()
    with unit_of_work(factory) as session:
        core_service.ensure_reference_data(session)
        department = core_service.create_department(
            session,
            code=DEPARTMENT,
            name="市卫生健康委",
            name_en="Health Commission",
            function="health",
            level=DepartmentLevel.CITY,
            region_code="SH",
        )
        account = core_service.create_staff_account(
            session,
            username="tracer",
            display_name="Tracer",
            password="benchmark-password",
            department_code=department.code,
            roles=[Role.STAFF],
        )
        reader = principal_of(account)
        for code, label, fields, _ in CASES:
            create_purpose(
                session,
                actor="dpo",
                code=code,
                name=label,
                legal_basis=LegalBasis.PUBLIC_HEALTH_EMERGENCY,
                owner_department_code=DEPARTMENT,
                valid_from=NOW - timedelta(days=30),
                valid_until=NOW + timedelta(days=30),
                retention_days=28,
                now=NOW,
            )
            set_policy(
                session,
                catalogue,
                actor="dpo",
                grantee_kind=GranteeKind.DEPARTMENT,
                grantee=DEPARTMENT,
                purpose_code=code,
                dataset=DATASET,
                fields=fields,
                reason="benchmark",
                now=NOW,
            )
        seed_residents(session, residents)
    return Bench(engine, factory, Governance(catalogue, ROOT_SECRET), reader)


def governed(bench: Bench, purpose: str) -> Callable[[Session], int]:
    """The read through the door: masked rows, pending ledger records in the transaction."""

    def run(session: Session) -> int:
        result = read(
            session,
            bench.gov,
            bench.reader,
            purpose=purpose,
            dataset=DATASET,
            query=ReadQuery(limit=ROWS),
            now=NOW,
        )
        return len(result.rows)

    return run


def raw(fields: Sequence[str]) -> Callable[[Session], int]:
    """The same rows and columns as the door selects, straight from the table."""
    table = Citizen.__table__
    statement = (
        select(table.c.id.label("_subject"), *(table.c[f] for f in fields))
        .order_by(table.c.id)
        .limit(ROWS)
    )

    def run(session: Session) -> int:
        return len(session.execute(statement).all())

    return run


def _once(factory: sessionmaker[Session], operation: Callable[[Session], int]) -> float:
    """CPU seconds of one run, in its own transaction, rolled back afterwards.

    SQLite runs inside this process, so the process's CPU time is the whole cost of a read;
    wall-clock time on a shared machine would also count the waits for a free core.
    """
    gc.collect()  # garbage of the previous run is not this run's cost
    with factory() as session:
        started = time.process_time()
        rows = operation(session)
        elapsed = time.process_time() - started
        session.rollback()
    if rows != ROWS:
        raise RuntimeError(f"expected {ROWS} rows, got {rows}")
    return elapsed


def paired_timings(
    factory: sessionmaker[Session],
    baseline: Callable[[Session], int],
    operation: Callable[[Session], int],
    repeat: int,
    warmup: int,
) -> tuple[list[float], list[float]]:
    """Seconds of each run of both operations, interleaved so drift hits both alike."""
    first: list[float] = []
    second: list[float] = []
    for i in range(warmup + repeat):
        a, b = _once(factory, baseline), _once(factory, operation)
        if i >= warmup:
            first.append(a)
            second.append(b)
    return first, second


def median_p90_ms(seconds: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds."""
    return statistics.median(seconds) * 1000, statistics.quantiles(seconds, n=10)[8] * 1000


def sequencing(bench: Bench, repeat: int) -> list[float]:
    """Seconds to sequence ``PENDING`` subject reads into the ledger, each run rolled back."""
    rows = [
        {
            "read_at": NOW,
            "actor": "tracer",
            "department_code": DEPARTMENT,
            "purpose_code": "bench.masked",
            "dataset": DATASET,
            "subject_kind": "citizen",
            # One pending row per read of ROWS subjects, as the door records them.
            "subject_ids": list(range(r * ROWS + 1, (r + 1) * ROWS + 1)),
            "fields": list(MASKED),
            "request_id": f"00000000-0000-0000-0000-{r:012d}",
            "kind": "read",
        }
        for r in range(PENDING // ROWS)
    ]
    found: list[float] = []
    for _ in range(repeat):
        with bench.factory() as session:
            ledger.record_reads(session, rows)
            session.flush()
            started = time.perf_counter()
            moved = ledger.sequence_pending(session, bench.gov.signer, now=NOW)
            elapsed = time.perf_counter() - started
            session.rollback()
        if moved != PENDING:
            raise RuntimeError(f"expected {PENDING} entries sequenced, got {moved}")
        found.append(elapsed)
    return found


def check_comparison(bench: Bench) -> None:
    """Fail loudly unless both sides return the same residents, and the door masked them."""
    with bench.factory() as session:
        result = read(
            session,
            bench.gov,
            bench.reader,
            purpose="bench.sealed",
            dataset=DATASET,
            query=ReadQuery(limit=ROWS),
            now=NOW,
        )
        table = Citizen.__table__
        raw_ids = session.scalars(select(table.c.id).order_by(table.c.id).limit(ROWS)).all()
        session.rollback()
    if [r["subject_id"] for r in result.rows] != list(raw_ids):
        raise RuntimeError("the door and the raw query return different residents")
    row = result.rows[0]
    if not (
        row["phone"] == "139****0000"
        and len(row["birth_date"]) == 4
        and isinstance(row["home_lon"], float)
    ):
        raise RuntimeError(f"the door did not mask as the policy says: {sorted(row)}")


def profile(bench: Bench, runs: int) -> str:
    """cProfile of ``runs`` governed reads of the sealed case: top functions by own time."""
    operation = governed(bench, "bench.sealed")
    profiler = cProfile.Profile()
    for _ in range(runs):
        with bench.factory() as session:
            profiler.enable()
            operation(session)
            profiler.disable()
            session.rollback()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


def _cpu_name() -> str:
    """The processor's model name, where the system says it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the figures and return them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--residents", type=int, default=2000, help="residents to seed (>=1000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per operation")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs first")
    parser.add_argument("--profile", action="store_true", help="also profile the sealed case")
    args = parser.parse_args(argv)
    if args.residents < ROWS:
        parser.error(f"--residents should be at least {ROWS}")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        bench = build(Path(folder), args.residents)
        print(
            f"seeded {args.residents} residents in {time.perf_counter() - started:.2f} s; "
            f"reading {ROWS} rows, {args.repeat} runs after {args.warmup} warm-up "
            f"(SQLite, each run rolled back; CPU time of this process)"
        )
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_name()}")
        check_comparison(bench)
        print(
            f"{'case':<30} {'raw med':>8} {'p90':>7} {'governed med':>13} {'p90':>7} "
            f"{'ratio':>6}  aim"
        )
        for code, label, fields, aim in CASES:
            raw_s, gov_s = paired_timings(
                bench.factory, raw(list(fields)), governed(bench, code), args.repeat, args.warmup
            )
            raw_ms, gov_ms = median_p90_ms(raw_s), median_p90_ms(gov_s)
            ratio = gov_ms[0] / raw_ms[0]
            figures[code] = {"raw_ms": raw_ms, "governed_ms": gov_ms, "ratio": ratio}
            verdict = (
                f"meets the aim (<= {aim:.0f}x)"
                if ratio <= aim
                else f"misses the aim of {aim:.0f}x ({ratio / aim:.1f}x over)"
            )
            print(
                f"{label:<30} {raw_ms[0]:>8.2f} {raw_ms[1]:>7.2f} {gov_ms[0]:>13.2f} "
                f"{gov_ms[1]:>7.2f} {ratio:>5.1f}x  {verdict}"
            )
        seq = sequencing(bench, max(3, args.repeat // 6))
        seq_median = statistics.median(seq)
        figures["sequence_pending"] = {"seconds": seq_median, "per_second": PENDING / seq_median}
        print(
            f"ledger.sequence_pending of {PENDING:,} subject reads (10 reads of 1,000): "
            f"median {seq_median * 1000:.0f} ms ({PENDING / seq_median:,.0f} entries/s, "
            f"{len(seq)} runs)"
        )
        if args.profile:
            print(profile(bench, args.repeat))
        bench.engine.dispose()
    return figures


if __name__ == "__main__":
    main()
