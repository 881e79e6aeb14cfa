"""The simulator for process designers: run a process file without the database.

The given data is what the process starts with (an application's form), and every person's
task is completed with it (merged into its data); scripts,
decision tables and gateways run as they would on the platform (in the restricted
evaluator), and the run stops when the process ends or waits for a timer or a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twonets.services import engine

# A process whose person's tasks come back (a loop) would otherwise run for ever.
MAX_STEPS = 1000


def read_source(path: Path) -> engine.ProcessSource:
    """A process file and the DMN files beside it (``*.dmn``), as the engine takes them."""
    try:
        bpmn = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise engine.ProcessFileError(f"{path}: cannot read the file: {reason}") from None
    dmn: dict[str, str] = {}
    for table in sorted(path.parent.glob("*.dmn")):
        try:
            dmn[str(table)] = table.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise engine.ProcessFileError(f"{table}: cannot read the decision table") from None
    return engine.ProcessSource(bpmn=bpmn, name=str(path), dmn=dmn)


def simulate(source: engine.ProcessSource, process_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Run ``process_id`` of ``source`` to its end or first wait; the simulator's answer."""
    process = engine.parse(source, process_id)
    workflow = engine.start(process, data)
    completed: list[str] = []

    def finished(task: engine.WorkflowTask) -> None:
        completed.append(str(task.task_spec.bpmn_id))

    engine.advance(workflow, finished)
    for _ in range(MAX_STEPS):
        ready = engine.user_tasks(workflow)
        if not ready:
            break
        engine.complete(workflow, ready[0], data, finished)
    else:
        raise engine.ProcessRunError(
            f"{source.name}: still asking for people's tasks after {MAX_STEPS} steps (a loop?)"
        )
    if workflow.is_completed():
        return {
            "status": "completed",
            "completed": completed,
            "data": engine.jsonable(engine.data_of(workflow)),
        }
    return {
        "status": "waiting",
        "completed": completed,
        "data": engine.jsonable(engine.data_of(workflow)),
        "waiting": engine.waiting_on(workflow),
    }
