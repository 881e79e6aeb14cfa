"""The process engine: BPMN 2.0 (and DMN) files executed by SpiffWorkflow, no database.

This module is the only one that speaks SpiffWorkflow. It parses process files into specs,
starts workflows, runs them until they wait for a person, a timer or a message, serialises
their state to JSON and back (so a fresh engine resumes where another stopped), and compares
versions of a process to move a workflow from one to another where the engine allows.
Conditions, scripts and decision tables run in ``sandbox`` (never plain ``eval``).
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from twonets.core.errors import Invalid
from twonets.services import sandbox

# SpiffWorkflow logs every task's change of state at INFO; the platform records its own.
logging.getLogger("spiff").setLevel(logging.WARNING)

# The platform's clock while the engine runs a step. SpiffWorkflow's timers ask
# ``datetime.now`` themselves; they are pointed at this clock, so that a timer starts and
# fires at the platform's time (a test's controlled clock, a demo's past), not the machine's.
_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("engine_now", default=None)


class _ClockedDatetime(datetime):
    """``datetime`` whose ``now`` is the platform's clock while a step runs."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        current = _NOW.get()
        if current is None:
            return datetime.now(tz)
        return current.astimezone(tz) if tz is not None else current


_timer_module.datetime = _ClockedDatetime


@contextlib.contextmanager
def clock(now: datetime | None) -> Iterator[None]:
    """Run what is inside at ``now`` (the machine's clock when None)."""
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)


# A step's due time when its process names none (its ``sla_hours`` property).
DEFAULT_SLA_HOURS = 72
# SpiffWorkflow's types, for the modules that hold them without speaking SpiffWorkflow.
Workflow = BpmnWorkflow
WorkflowTask = Task


class ProcessFileError(Invalid):
    """A process file is not valid BPMN/DMN, or does not hold the process named."""

    slug = "process-file"
    title = "Invalid process file"


class ProcessRunError(Invalid):
    """A workflow could not go on: a script failed or a condition could not be decided."""

    slug = "process-run"
    title = "Process could not run"


class _SandboxEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's script engine, with every evaluation sent to the restricted evaluator."""

    def validate(self, expression: str) -> None:
        # Syntax only: decision tables probe cells with it and expect SyntaxError; the
        # evaluator's own rules apply when the expression runs.
        ast.parse(expression)

    def evaluate(
        self, task: Task, expression: str, external_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = dict(task.data)
        # A decision table's cell is evaluated against its input as ``dmninputexpr``.
        data.update({k: v for k, v in (external_context or {}).items() if not callable(v)})
        return sandbox.evaluate(expression, data)

    def execute(
        self, task: Task, script: str, external_context: Mapping[str, Any] | None = None
    ) -> bool:
        sandbox.execute(script, task.data)
        return True

    def call_service(self, task: Task, **kwargs: Any) -> Any:
        raise sandbox.ScriptRefused("service tasks are not supported in process files yet")


SCRIPT_ENGINE = _SandboxEngine()
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_SERIALIZER = BpmnWorkflowSerializer(_REGISTRY)


@dataclass(frozen=True)
class ProcessSource:
    """A process file's text and the decision tables (DMN) it calls, with their names."""

    bpmn: str
    name: str = "process.bpmn"
    dmn: Mapping[str, str] = field(default_factory=dict)

    @property
    def checksum(self) -> str:
        """SHA-256 over the files, to tell a redeploy of the same text from a new version."""
        digest = hashlib.sha256(self.bpmn.encode())
        for name in sorted(self.dmn):
            digest.update(name.encode() + b"\0" + self.dmn[name].encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Process:
    """A parsed process: its top-level spec and the sub-process specs it calls."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: Mapping[str, Any]


def _where(
    exc: ValidationException | etree.XMLSyntaxError, name: str, text: str | None = None
) -> str:
    """``FILE:LINE (element id=...)``: the line from the error, else where the id is written."""
    if isinstance(exc, etree.XMLSyntaxError):
        return f"{name}:{exc.lineno}"
    where = exc.file_name or name
    line = exc.line_number or (_line_of(text, exc.id) if text and exc.id else None)
    if line:
        where += f":{line}"
    element = " ".join(p for p in (exc.tag, f"id={exc.id!r}" if exc.id else "") if p)
    return f"{where} ({element})" if element else where


def _line_of(text: str, element_id: str) -> int | None:
    """The line on which an element with this id is written, if it is written once."""
    needle = f'id="{element_id}"'
    if text.count(needle) != 1:
        return None
    return text[: text.index(needle)].count("\n") + 1


_PREFIXES = {
    "{http://www.omg.org/spec/BPMN/20100524/MODEL}": "bpmn:",
    "{https://www.omg.org/spec/DMN/20191111/MODEL/}": "dmn:",
    "{http://spiffworkflow.org/bpmn/schema/1.0/core}": "spiffworkflow:",
}


def _first_line(text: str) -> str:
    """One line of at most 300 characters, with namespaces written as their prefixes."""
    line = " ".join(str(text).split())
    for uri, prefix in _PREFIXES.items():
        line = line.replace(uri, prefix)
    return line if len(line) <= 300 else line[:297] + "..."


def parse(source: ProcessSource, process_id: str) -> Process:
    """Parse ``source`` and return process ``process_id``; ``ProcessFileError`` says where."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    name = source.name
    try:
        for dmn_name, text in source.dmn.items():
            name = dmn_name
            parser.add_dmn_xml(_xml(text), filename=dmn_name)
        name = source.name
        parser.add_bpmn_xml(_xml(source.bpmn), filename=source.name)
        known = parser.get_process_ids()
        if process_id not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise ProcessFileError(
                f"{source.name}: no process {process_id!r} in the file (processes: {listed})"
            )
        spec = parser.get_spec(process_id)
        subprocesses = parser.get_subprocess_specs(process_id)
    except ProcessFileError:
        raise
    except etree.XMLSyntaxError as exc:
        raise ProcessFileError(f"{_where(exc, name)}: not well-formed XML: {exc.msg}") from None
    except ValidationException as exc:
        message = _first_line(exc.args[0] if exc.args else exc)
        written = source.bpmn if name == source.name else source.dmn.get(name)
        raise ProcessFileError(f"{_where(exc, name, written)}: {message}") from None
    except sandbox.ScriptRefused as exc:
        raise ProcessFileError(f"{name}: {exc.detail}") from None
    except (SpiffWorkflowException, KeyError, ValueError, AttributeError, TypeError) as exc:
        raise ProcessFileError(f"{name}: {_first_line(str(exc))}") from None
    return Process(process_id, spec.description or process_id, spec, subprocesses)


def _xml(text: str) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(text.encode(), parser=parser)
    if root.tag.rpartition("}")[2] != "definitions":
        raise ValidationException(
            f"the root element should be definitions, got {root.tag.rpartition('}')[2]}",
            node=root,
        )
    return root


def process_ids(source: ProcessSource) -> list[str]:
    """The executable processes a file defines."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for dmn_name, text in source.dmn.items():
            parser.add_dmn_xml(_xml(text), filename=dmn_name)
        parser.add_bpmn_xml(_xml(source.bpmn), filename=source.name)
    except etree.XMLSyntaxError as exc:
        raise ProcessFileError(
            f"{_where(exc, source.name)}: not well-formed XML: {exc.msg}"
        ) from None
    except ValidationException as exc:
        message = _first_line(exc.args[0] if exc.args else exc)
        raise ProcessFileError(f"{_where(exc, source.name, source.bpmn)}: {message}") from None
    return sorted(parser.get_process_ids())


def start(process: Process, data: Mapping[str, Any]) -> BpmnWorkflow:
    """A new workflow of ``process`` whose start carries ``data``; not yet run."""
    workflow = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=SCRIPT_ENGINE)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return workflow


Finished = Callable[[Task], None]


def _is_activity(task: Task) -> bool:
    spec = task.task_spec
    if getattr(spec, "bpmn_id", None) is None:
        return False
    return not isinstance(
        spec,
        CatchingEvent | ThrowingEvent | ExclusiveGateway | InclusiveGateway | ParallelGateway,
    )


def advance(
    workflow: BpmnWorkflow, finished: Finished | None = None, *, now: datetime | None = None
) -> None:
    """Run every step the engine can do alone (scripts, gateways, rules, due timers)."""

    def did_complete(task: Task) -> None:
        if finished is not None and _is_activity(task):
            finished(task)

    try:
        with clock(now):
            workflow.refresh_timers()
            workflow.do_engine_steps(did_complete_task=did_complete)
            # A timer that came due while the engine ran (a boundary timer's wait began
            # above) fires on the next advance; refresh once more so it starts now.
            workflow.refresh_timers()
    except SpiffWorkflowException as exc:
        refused = _cause(exc, sandbox.ScriptRefused)
        if refused is not None:
            raise refused from None
        raise ProcessRunError(_run_message(exc)) from None


def _cause(exc: BaseException, kind: type[sandbox.ScriptRefused]) -> sandbox.ScriptRefused | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        inner = getattr(current, "exception", None)
        current = (
            inner
            if isinstance(inner, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return None


def _run_message(exc: SpiffWorkflowException) -> str:
    spec = getattr(getattr(exc, "task", None), "task_spec", None) or getattr(exc, "task_spec", None)
    where = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    text = _first_line(exc.args[0] if exc.args else str(exc))
    return f"{where}: {text}" if where else text


def user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """The tasks that wait for a person (user and manual tasks that are ready)."""
    return list(workflow.get_tasks(state=TaskState.READY, manual=True))


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    """The workflow's task with this id (a UUID as text), if it has one."""
    for task in workflow.get_tasks():
        if str(task.id) == task_id:
            return task
    return None


def complete(
    workflow: BpmnWorkflow,
    task: Task,
    data: Mapping[str, Any],
    finished: Finished | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Complete a person's task with ``data`` merged into its data, then run on."""
    task.data.update(data)
    try:
        with clock(now):
            task.run()
    except SpiffWorkflowException as exc:
        raise ProcessRunError(_run_message(exc)) from None
    if finished is not None and _is_activity(task):
        finished(task)
    advance(workflow, finished, now=now)


def deliver_message(
    workflow: BpmnWorkflow, name: str, payload: Mapping[str, Any], *, now: datetime | None = None
) -> bool:
    """Deliver message ``name`` to the event waiting for it, with ``payload`` in its data,
    then run on; False when nothing waits for it."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and definition.name == name:
            task.data.update(payload)
            try:
                with clock(now):
                    workflow.send_event(BpmnEvent(type(definition)(name), payload=dict(payload)))
            except SpiffWorkflowException as exc:
                raise ProcessRunError(_run_message(exc)) from None
            advance(workflow, now=now)
            return True
    return False


def cancel(workflow: BpmnWorkflow) -> None:
    """Stop a workflow: nothing of it runs any more."""
    workflow.cancel()


def task_info(task: Task) -> dict[str, Any]:
    """What the platform needs of a person's task: id, activity, name, lane, SLA."""
    spec = task.task_spec
    extensions = getattr(spec, "extensions", None) or {}
    properties = extensions.get("properties") or {}
    try:
        sla = int(properties.get("sla_hours", DEFAULT_SLA_HOURS))
    except ValueError:
        sla = DEFAULT_SLA_HOURS
    return {
        "task_id": str(task.id),
        "activity": spec.bpmn_id,
        "name": spec.bpmn_name or spec.bpmn_id,
        "lane": spec.lane,
        "sla_hours": sla,
        "form": _form_fields(properties),
        # A step worked by a department of another region (a signed request and reply).
        "remote_region": properties.get("remote_region"),
    }


def _form_fields(properties: Mapping[str, str]) -> list[str]:
    fields = properties.get("form", "")
    return [f.strip() for f in fields.split(",") if f.strip()]


def waiting_on(workflow: BpmnWorkflow) -> list[dict[str, Any]]:
    """What a workflow that is not completed waits for: timers, messages, people."""
    out: list[dict[str, Any]] = []
    for task in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY):
        spec = task.task_spec
        if getattr(spec, "bpmn_id", None) is None:
            continue
        definition = getattr(spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            out.append(
                {"kind": "timer", "activity": spec.bpmn_id, "expression": definition.expression}
            )
        elif isinstance(definition, MessageEventDefinition):
            out.append({"kind": "message", "activity": spec.bpmn_id, "message": definition.name})
        elif task.state == TaskState.READY and spec.manual:
            out.append({"kind": "task", "activity": spec.bpmn_id, "lane": spec.lane})
    return out


def waiting_timers(workflow: BpmnWorkflow) -> dict[str, tuple[str, datetime | None]]:
    """The timer events a workflow waits on: task id -> (activity, when it is due, if known)."""
    out: dict[str, tuple[str, datetime | None]] = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):  # a cycle: its next occurrence
            value = value.get("next")
        due = None
        if isinstance(value, str):
            try:
                # As a plain datetime (SpiffWorkflow builds it with the clocked class).
                due = datetime.fromisoformat(TimerEventDefinition.get_datetime(value).isoformat())
            except ValueError:
                due = None
        out[str(task.id)] = (str(task.task_spec.bpmn_id), due)
    return out


def next_timer(workflow: BpmnWorkflow) -> datetime | None:
    """When the earliest timer the workflow waits on is due (None: it waits on none)."""
    dues = [due for _, due in waiting_timers(workflow).values() if due is not None]
    return min(dues).astimezone(UTC) if dues else None


def data_of(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The workflow's data: the last completed task's data (what the end event saw)."""
    if workflow.is_completed() and workflow.last_task is not None:
        return dict(workflow.last_task.data)
    merged: dict[str, Any] = {}
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        merged.update(task.data)
    for task in user_tasks(workflow):
        merged.update(task.data)
    return merged


def dumps(workflow: BpmnWorkflow) -> str:
    """The workflow's whole state as JSON (SpiffWorkflow's serializer)."""
    text: str = _SERIALIZER.serialize_json(workflow)
    return text


def loads(state: str) -> BpmnWorkflow:
    """A workflow rebuilt from ``dumps`` by this (or a fresh) engine, ready to go on."""
    workflow: BpmnWorkflow = _SERIALIZER.deserialize_json(state)
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


@dataclass(frozen=True)
class MigrationCheck:
    """Whether a workflow can move to another version, and if not, why."""

    possible: bool
    reason: str = ""


def check_migration(workflow: BpmnWorkflow, target: Process) -> MigrationCheck:
    """Whether ``workflow`` can move to ``target``: every task it holds must exist there."""
    top, subprocesses = diff_workflow(
        _REGISTRY, workflow, target.spec, dict(target.subprocess_specs)
    )
    if top.removed:
        names = sorted({t.task_spec.name for t in top.removed})
        return MigrationCheck(
            False, f"the new version lacks steps it has reached: {', '.join(names)}"
        )
    for sp_id, diff in subprocesses.items():
        if diff is None or diff.removed:
            return MigrationCheck(
                False, f"a sub-process it is in ({sp_id}) changed beyond alignment"
            )
    return MigrationCheck(True)


def migrate(workflow: BpmnWorkflow, target: Process) -> None:
    """Move ``workflow`` onto ``target`` (check first); ready steps are predicted anew."""
    top, subprocesses = diff_workflow(
        _REGISTRY, workflow, target.spec, dict(target.subprocess_specs)
    )
    migrate_workflow(top, workflow, target.spec)
    for sp_id, sp in workflow.subprocesses.items():
        diff = subprocesses.get(sp_id)
        if diff is not None:
            migrate_workflow(diff, sp, target.subprocess_specs[sp.spec.name])
    workflow.subprocess_specs = dict(target.subprocess_specs)


def state_size(workflow: BpmnWorkflow) -> int:
    """Bytes of the serialised state (what each step stores)."""
    return len(dumps(workflow).encode())


def jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as plain JSON values (what an API answer and the simulator print)."""
    return dict(json.loads(json.dumps(dict(data), default=str)))


def activity_ids(tasks: Iterable[Task]) -> list[str]:
    """The BPMN ids of ``tasks``."""
    return [str(t.task_spec.bpmn_id) for t in tasks]
