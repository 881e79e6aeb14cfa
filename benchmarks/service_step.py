"""Headline figure of services: applications advanced per second through a typical step.

The step is the district confirming the charging point of an NEV plate application, as the
workbench does it (``service.claim_task`` then ``service.complete_task``, each its own
transaction): load the application and its workflow state, run the step in SpiffWorkflow
(the task, then the parallel gateway that opens two departments' steps), serialise the state,
write it with the task rows and the audit, commit. The baseline, in the same run on the same
database, is the same two transactions without the engine: the task rows and the audit
written, the state column rewritten with the text it held (so the write is the same size).

The script prints applications per second for both and their ratio, the serialised state's
size before and after the step, and where the time of one step goes: loading (query and
``engine.loads``), running (``engine.complete``), serialising (``engine.dumps``) and the
rest (the rows, the audit, the commits). Both backends: SQLite (a temporary file) and,
with ``--database postgresql``, a temporary PostgreSQL database (dropped afterwards).

    .venv/bin/python benchmarks/service_step.py [--applications N] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench_db import database
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_id_number
from twonets.core.models import DepartmentLevel, Role
from twonets.core.service import ensure_reference_data
from twonets.licences.service import Licensing
from twonets.services import engine, service
from twonets.services.models import Application, ServiceTask, TaskStatus
from twonets.services.service.records import audit

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FORM: dict[str, Any] = {
    "has_residence": True,
    "social_insurance_months": 0,
    "plates_held": 0,
    "charging_point": True,
    "vin": "LSVAU2180N2183294",
    "vehicle_model": "荣威 Ei5",
}


def setup(factory: sessionmaker[Session], applications: int) -> tuple[Principal, list[int]]:
    """The district's clerk and ``applications`` NEV plate applications waiting for it."""
    with unit_of_work(factory) as session:
        ensure_reference_data(session)
        core_service.create_department(
            session,
            code="310101.operations",
            name="黄浦区城运中心",
            name_en="Huangpu operations centre",
            function="operations",
            level=DepartmentLevel.DISTRICT,
            region_code="SH",
            district_code="310101",
        )
        clerk = core_service.create_staff_account(
            session,
            username="bench.district",
            display_name="bench",
            password="bench-password-1",
            department_code="310101.operations",
            roles=(Role.STAFF,),
        )
        service.deploy_builtin(session, now=NOW)
        principal = auth.principal_of(clerk)
        ids = []
        for n in range(applications):
            resident = core_service.register_citizen(
                session,
                id_number=make_id_number(
                    "310101", date(1990, 1, 1) + timedelta(days=n // 900), n % 900
                ),
                name="张三",
                password="bench-password-1",
                phone=None,
                district_code="310101",
                now=NOW,
            )
            application = service.apply(
                session,
                auth.principal_of(resident),
                process_id="nev_plate",
                district_code="310101",
                data=FORM,
                now=NOW,
            )
            ids.append(application.id)
    return principal, ids


def tasks_of(factory: sessionmaker[Session], ids: list[int]) -> list[int]:
    """The open district step of each application."""
    with factory() as session:
        return list(
            session.scalars(
                select(ServiceTask.id)
                .where(ServiceTask.application_id.in_(ids), ServiceTask.status == "open")
                .order_by(ServiceTask.application_id)
            )
        )


def with_engine(factory: sessionmaker[Session], clerk: Principal, tasks: list[int]) -> float:
    """Seconds to claim and complete each step through the service (the real thing)."""
    ctx = Licensing(b"bench" * 8)
    started = time.perf_counter()
    for task in tasks:
        with unit_of_work(factory) as session:
            service.claim_task(session, clerk, task, now=NOW)
        with unit_of_work(factory) as session:
            service.complete_task(
                session, ctx, clerk, task, data={"charging_point_id": "CP-1"}, now=NOW
            )
    return time.perf_counter() - started


def without_engine(factory: sessionmaker[Session], tasks: list[int]) -> float:
    """Seconds for the same two transactions' rows without SpiffWorkflow (the baseline)."""
    started = time.perf_counter()
    for task_pk in tasks:
        with unit_of_work(factory) as session:
            task = session.get(ServiceTask, task_pk)
            assert task is not None
            task.status = TaskStatus.CLAIMED
            task.assignee = "bench.district"
            application = session.get(Application, task.application_id)
            assert application is not None
            audit(session, application, "claimed", actor="bench", to_status="running", now=NOW)
        with unit_of_work(factory) as session:
            task = session.get(ServiceTask, task_pk)
            assert task is not None
            application = session.get(Application, task.application_id)
            assert application is not None
            task.status = TaskStatus.DONE
            application.state = application.state + " "
            for activity in ("register_vehicle", "allocate_plate"):
                session.add(
                    ServiceTask(
                        application_id=application.id,
                        task_id=str(uuid.uuid4()),
                        activity=activity,
                        name=activity,
                        lane="police",
                        form="",
                        district_code="310101",
                        status=TaskStatus.OPEN,
                        created_at=NOW,
                        due_at=NOW + timedelta(hours=72),
                    )
                )
            audit(
                session, application, "step-completed", actor="bench", to_status="running", now=NOW
            )
    return time.perf_counter() - started


def phases(factory: sessionmaker[Session], ids: list[int]) -> dict[str, Any]:
    """Where the engine's time of one step goes, and the state's size before and after."""
    load: list[float] = []
    run: list[float] = []
    dump: list[float] = []
    before: list[int] = []
    after: list[int] = []
    with factory() as session:
        for application_id in ids:
            started = time.perf_counter()
            state = session.scalar(
                select(Application.state).where(Application.id == application_id)
            )
            assert state is not None
            workflow = engine.loads(state)
            load.append(time.perf_counter() - started)
            before.append(len(state.encode()))
            [task] = engine.user_tasks(workflow)
            started = time.perf_counter()
            engine.complete(workflow, task, {"charging_point_id": "CP-1"})
            run.append(time.perf_counter() - started)
            started = time.perf_counter()
            text_after = engine.dumps(workflow)
            dump.append(time.perf_counter() - started)
            after.append(len(text_after.encode()))
    return {
        "load_ms": statistics.median(load) * 1000,
        "run_ms": statistics.median(run) * 1000,
        "dump_ms": statistics.median(dump) * 1000,
        "state_bytes_before": statistics.median(before),
        "state_bytes_after": statistics.median(after),
    }


def measure(kind: str, applications: int) -> dict[str, Any]:
    """Both rates on one backend, the phases, and the ratio."""
    with database(kind) as url:
        bench_engine = make_engine(url)
        try:
            factory = make_session_factory(bench_engine)
            clerk, ids = setup(factory, applications * 2)
            engine_ids, baseline_ids = ids[:applications], ids[applications:]
            split = phases(factory, engine_ids)
            real = with_engine(factory, clerk, tasks_of(factory, engine_ids))
            bare = without_engine(factory, tasks_of(factory, baseline_ids))
        finally:
            bench_engine.dispose()
    per_step_ms = real / applications * 1000
    engine_ms = split["load_ms"] + split["run_ms"] + split["dump_ms"]
    return {
        "database": kind,
        "applications_per_second": applications / real,
        "baseline_per_second": applications / bare,
        "ratio": bare / real,
        "per_step_ms": per_step_ms,
        "rest_ms": max(per_step_ms - engine_ms, 0.0),
        **split,
    }


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark on the backends asked for and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    for kind in kinds:
        r = measure(kind, args.applications)
        results.append(r)
        print(
            f"{kind}: {r['applications_per_second']:.0f} applications/s through the step "
            f"(baseline without the engine {r['baseline_per_second']:.0f}/s; "
            f"the engine's step runs at {r['ratio']:.2f}x the baseline)\n"
            f"  per step {r['per_step_ms']:.2f} ms: load {r['load_ms']:.2f}, run "
            f"{r['run_ms']:.2f}, serialise {r['dump_ms']:.2f}, rows+audit+commits "
            f"{r['rest_ms']:.2f}\n"
            f"  serialised state {r['state_bytes_before']:.0f} bytes before the step, "
            f"{r['state_bytes_after']:.0f} after"
        )
    return results


if __name__ == "__main__":
    main()
