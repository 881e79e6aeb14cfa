"""Pages of personal-data governance: a resident's report of reads, and the officer's desk.

Residents and enterprises see who read their data (``/my-data``) and may ask for a copy of it
with the purposes that hold it. The data protection officer sees reads by department and
purpose, unusual readers and the ledger's state (``/governance``), and keeps purposes and
policies (``/governance/purposes``, ``/governance/policies``). Handlers only parse, call the
governance use cases and render; every change goes through ``service`` in one unit of work.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow, require
from twonets.core.models import Department, Role
from twonets.governance import break_glass, ledger, reports, service
from twonets.governance.api import Gov, officer
from twonets.governance.catalogue import Dataset
from twonets.governance.models import GranteeKind, LegalBasis, Policy, Purpose, PurposeStatus
from twonets.web.pages import (
    SHANGHAI,
    FormFields,
    field_errors,
    local_date,
    local_iso,
    local_time,
    render,
)

router = APIRouter(include_in_schema=False)

Subject = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Officer = Annotated[Principal, Depends(officer)]

OVERVIEW_DAYS = (7, 30, 90, 365)


# --- words for people -------------------------------------------------------------------------

FIELD_LABELS = {
    "id": "record number",
    "id_number": "ID number",
    "name": "name",
    "birth_date": "date of birth",
    "sex": "sex",
    "phone": "phone number",
    "district_code": "district",
    "address": "address",
    "home_lon": "home location",
    "home_lat": "home location",
    "credit_code": "credit code",
    "legal_representative": "legal representative",
    "industry": "industry",
    "lon": "location",
    "lat": "location",
    "created_at": "date registered",
}

RECORD_LABELS = {
    "home_lon": "home location (longitude)",
    "home_lat": "home location (latitude)",
    "lon": "location (longitude)",
    "lat": "location (latitude)",
}

DATASET_LABELS = {
    "core.citizen": "Resident register",
    "core.enterprise": "Enterprise register",
}

KIND_LABELS = {
    "read": "viewed",
    "export": "exported to a file",
    "copy": "your own copy",
    "break-glass": "read in an emergency (break-glass)",
}

BASIS_LABELS = {
    LegalBasis.CONSENT: "your consent",
    LegalBasis.CONTRACT: "a contract with you",
    LegalBasis.STATUTORY_DUTY: "a statutory duty",
    LegalBasis.PUBLIC_HEALTH_EMERGENCY: "a public-health emergency",
    LegalBasis.PUBLIC_INTEREST_NEWS: "news reporting in the public interest",
    LegalBasis.PUBLICLY_DISCLOSED: "information already made public",
    LegalBasis.OTHER_LAW: "another law",
}

# The mask kinds of the policy editor, in the order of its select.
MASK_CHOICES = (
    ("", "not granted"),
    ("keep", "keep (in full)"),
    ("redact", "redact (empty value)"),
    ("partial", "partial (first / last characters)"),
    ("year", "year only"),
    ("grid", "grid (coordinates to cells)"),
    ("pseudonym", "pseudonym"),
)

ACTION_LABELS = {
    "purpose.created": "purpose declared",
    "purpose.changed": "purpose changed",
    "policy.set": "policy written",
    "policy.revoked": "grant withdrawn",
    "export.made": "export made",
    "retention.run": "retention run",
    "key.rotated": "key rotated",
    "break-glass.reviewed": "emergency read reviewed",
}

PURPOSE_ACTIONS = {
    "suspend": ("Suspend", "suspended"),
    "resume": ("Resume", "resumed"),
    "end": ("End now", "ended"),
}


def record_label(name: str) -> str:
    """A field of a person's own record, each named apart: ``Home location (longitude)``."""
    label = RECORD_LABELS.get(name) or field_label(name)
    return label[:1].upper() + label[1:]


def value_text(value: Any) -> str:
    """A value of a person's own record as they read it (moments in Shanghai time)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", value):
        try:
            return local_time(value)
        except ValueError:
            return value
    return str(value)


def field_label(name: str) -> str:
    """A field as a person calls it."""
    return FIELD_LABELS.get(name, name.replace("_", " "))


def fields_text(names: Iterable[str]) -> str:
    """Fields in words, each once, in their order: ``name, phone number, home location``."""
    labels: list[str] = []
    for name in names:
        label = field_label(name)
        if label not in labels:
            labels.append(label)
    text = ", ".join(labels)
    return text[:1].upper() + text[1:]


def dataset_label(name: str) -> str:
    """A dataset as a person calls it."""
    return DATASET_LABELS.get(name, name)


def kind_label(kind: str) -> str:
    """What kind of access a ledger entry records."""
    return KIND_LABELS.get(kind, kind)


def basis_label(value: str | None) -> str:
    """A legal basis in words."""
    if not value:
        return "—"
    try:
        return BASIS_LABELS[LegalBasis(value)]
    except ValueError:
        return value


def retention_text(days: int) -> str:
    """A retention period in words: ``28 days``, ``10 years``."""
    if days and days % 365 == 0:
        years = days // 365
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{days} day{'s' if days != 1 else ''}"


def split_rule(spec: str) -> tuple[str, str, str, str]:
    """A mask spec as the editor's inputs: (kind, first, last, metres)."""
    kind, *parts = spec.split(":")
    if kind == "partial" and len(parts) == 2:
        return kind, parts[0], parts[1], ""
    if kind == "grid" and len(parts) == 1:
        return kind, "", "", parts[0]
    return kind, "", "", ""


def rule_text(spec: str) -> str:
    """A mask spec in words: ``first 6 and last 4 characters``."""
    kind, first, last, metres = split_rule(spec)
    if kind == "keep":
        return "in full"
    if kind == "redact":
        return "redacted (empty)"
    if kind == "partial":
        shown = [f"first {first}" if first != "0" else "", f"last {last}" if last != "0" else ""]
        plural = "" if [first, last] in (["1", "0"], ["0", "1"]) else "s"
        return " and ".join(s for s in shown if s) + f" character{plural} shown"
    if kind == "year":
        return "year only"
    if kind == "grid":
        return f"{metres} m grid cell"
    if kind == "pseudonym":
        return "pseudonym"
    return spec


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", value):
        return local_time(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return str(value)


def change_lines(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """What an audited change did, one line per changed value (the service finds them)."""
    lines = []
    for d in service.change_differences(before, after):
        key = d.key.replace("_", " ") if d.item is None else d.key
        if d.item is None and before is None:
            lines.append(f"{key}: {_short(d.after)}")
        elif d.item is None:
            lines.append(f"{key}: {_short(d.before)} → {_short(d.after)}")
        elif d.kind is service.DifferenceKind.REMOVED:
            lines.append(f"{key}: − {d.item}")
        elif d.kind is service.DifferenceKind.ADDED:
            lines.append(f"{key}: + {d.item} {d.after}")
        else:
            lines.append(f"{key}: {d.item} {d.before} → {d.after}")
    return lines


VERSION_WORDS = {
    service.VersionChange.FIRST: "first version",
    service.VersionChange.WITHDRAWN: "grant withdrawn",
    service.VersionChange.GRANTED_AGAIN: "granted again",
}


def policy_changes(before: Policy | None, after: Policy) -> list[str]:
    """What one policy version changed from the one before, in words."""
    change, differences = service.version_differences(before, after)
    if change in VERSION_WORDS:
        return [VERSION_WORDS[change]]
    lines = []
    for d in differences:
        if d.key == "row_filter":
            lines.append(f"rows: {_short(d.before)} → {_short(d.after)}")
            continue
        label = record_label(d.item or "")
        if d.kind is service.DifferenceKind.ADDED:
            lines.append(f"{label} granted: {rule_text(str(d.after))}")
        elif d.kind is service.DifferenceKind.REMOVED:
            lines.append(f"{label} no longer granted")
        else:
            lines.append(f"{label}: {rule_text(str(d.before))} → {rule_text(str(d.after))}")
    return lines or ["no change to fields or rows"]


# The labels of the forms' fields, so that a problem names what the person sees.
PURPOSE_LABELS = {
    "code": "Code",
    "name": "Name",
    "description": "Description",
    "legal_basis": "Legal basis",
    "owner_department_code": "Owner department",
    "valid_from": "Starts on",
    "valid_until": "Ends on",
    "retention_days": "Retention (days)",
    "reason": "Reason",
    "status": "Change",
    "action": "Change",
}

POLICY_LABELS = {
    "grantee_kind": "Grantee kind",
    "grantee": "Grantee",
    "purpose_code": "Purpose",
    "dataset": "Dataset",
    "reason": "Reason for this change",
    "fields": "Fields",
}


def purpose_label(field: str) -> str:
    """The label of the purpose form's element a field problem is about."""
    return PURPOSE_LABELS.get(field, field.replace("_", " ").capitalize())


def problem_label(field: str) -> str:
    """The policy editor's element a field problem is about, as the page labels it."""
    if field.startswith("fields."):
        return record_label(field.removeprefix("fields."))
    if field.startswith("row_filter"):
        return "Rows"
    return POLICY_LABELS.get(field, field.replace("_", " ").capitalize())


def problem_anchor(field: str) -> str:
    """The id of the form element a field problem is about (for a link from the summary)."""
    if field.startswith("fields."):
        return "mask-" + field.removeprefix("fields.")
    if field.startswith("row_filter"):
        return "row_filter"
    return field


def target_link(action: str, target: str) -> str | None:
    """Where the officer sees the thing an audited change was about, if there is a page."""
    if action.startswith("purpose."):
        return f"/governance/purposes#purpose-{target}"
    if action.startswith("policy."):
        grantee, _, rest = target.partition("/")
        kind, _, name = grantee.partition(":")
        purpose_code, _, dataset = rest.partition("/")
        if kind and name and purpose_code and dataset:
            query = {"grantee_kind": kind, "grantee": name}
            query |= {"purpose_code": purpose_code, "dataset": dataset}
            return "/governance/policies/history?" + urlencode(query)
    return None


HELPERS: dict[str, Any] = {
    "when": local_time,
    "day": local_date,
    "iso": local_iso,
    "field_label": field_label,
    "record_label": record_label,
    "value_text": value_text,
    "fields_text": fields_text,
    "dataset_label": dataset_label,
    "kind_label": kind_label,
    "basis_label": basis_label,
    "retention_text": retention_text,
    "rule_text": rule_text,
    "change_lines": change_lines,
    "target_link": target_link,
    "problem_label": problem_label,
    "purpose_label": purpose_label,
    "problem_anchor": problem_anchor,
    "action_label": lambda action: ACTION_LABELS.get(action, action),
}


def _page(
    request: Request,
    template: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(request, template, principal, status_code, **HELPERS, **context)


def _see_other(path: str, **query: str) -> RedirectResponse:
    suffix = "?" + urlencode(query) if query else ""
    return RedirectResponse(path + suffix, status_code=303)


# --- a resident's report ----------------------------------------------------------------------


def page_links(path: str, query: Mapping[str, str], page: int, pages: int) -> dict[str, Any]:
    """Links to the previous and next page, keeping the other query values."""
    kept = {k: v for k, v in query.items() if v}

    def link(number: int) -> str:
        return path + "?" + urlencode({**kept, "page": str(number)})

    return {
        "page": page,
        "pages": pages,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
        "first": link(1) if page > 2 else None,
        "last": link(pages) if page < pages - 1 else None,
    }


@router.get("/my-data", response_class=HTMLResponse)
def my_data_page(
    request: Request,
    caller: Subject,
    uow: Uow,
    department: Annotated[str, Query(max_length=64)] = "",
    purpose: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Who read my data, when, for which purpose and which fields; filtered and paged."""
    with uow() as session:
        report = reports.my_report(
            session, caller, department=department, purpose=purpose, page=page
        )
    selected = {"department": department, "purpose": purpose}
    return _page(
        request,
        "governance/my_data.html",
        caller,
        report=report,
        reads=report.reads,
        counts=report.counts,
        readers=report.readers,
        departments=report.departments,
        purposes=report.purposes,
        total=report.counts["reads"] + report.counts["copies"],
        selected=selected,
        paging=page_links("/my-data", selected, report.page, report.pages),
    )


@router.get("/my-data/copy", dependencies=[Depends(require(Role.CITIZEN, Role.ENTERPRISE))])
def my_data_copy_get() -> Response:
    """The copy is made on request only (it is itself a recorded read): back to the report."""
    return RedirectResponse("/my-data#copy", status_code=303)


@router.post("/my-data/copy", response_class=HTMLResponse)
def my_data_copy(
    request: Request, caller: Subject, uow: Uow, clock: Clock, gov: Gov
) -> HTMLResponse:
    """A copy of my data and the purposes that hold each dataset (recorded in the ledger)."""
    with uow() as session:
        copy = reports.my_data(session, gov, caller, now=clock())
        departments = {d.code: d for d in core_service.list_departments(session)}
        districts = {d.code: f"{d.name} {d.name_en}" for d in core_service.list_districts(session)}
    download = json.dumps(copy, ensure_ascii=False, indent=2, default=str)
    return _page(
        request,
        "governance/my_data_copy.html",
        caller,
        copy=copy,
        departments=departments,
        districts=districts,
        download=download,
        grantee_text=lambda grantee: _grantee_text_of(grantee, departments),
    )


def _grantee_text_of(grantee: str, departments: Mapping[str, Department]) -> str:
    kind, _, name = grantee.partition(":")
    return grantee_text(kind, name, departments)


def grantee_text(kind: str, grantee: str, departments: Mapping[str, Department]) -> str:
    """Who a policy grants to, in words."""
    if kind == GranteeKind.DEPARTMENT:
        found = departments.get(grantee)
        return f"{found.name} {found.name_en}" if found else grantee
    if kind == GranteeKind.FUNCTION:
        return f"every {grantee.replace('-', ' ')} department"
    return f"accounts with the role {grantee.replace('_', ' ')}"


# --- the officer's overview -------------------------------------------------------------------


def _overview(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    days: int,
    verified: ledger.VerifyReport | None = None,
    *,
    notice: str | None = None,
    glass_error: tuple[int, TwonetsError, Mapping[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    since = now - timedelta(days=days)
    with uow() as session:
        summary = reports.reads_summary(session, since=since)
        unusual = reports.unusual_readers(session, since=since)
        head = ledger.latest_tree_head(session)
        changes = service.list_changes(session, limit=15)
        purposes = {p.code: p for p in service.list_purposes(session)}
        departments = {d.code: d for d in core_service.list_departments(session)}
        glass = list(break_glass.list_break_glass(session, limit=50))
    totals = reports.reads_totals(summary)
    return _page(
        request,
        "governance/overview.html",
        caller,
        status_code=status_code,
        days=days,
        day_choices=OVERVIEW_DAYS,
        since=since,
        summary=summary,
        busiest=totals.busiest,
        totals=totals,
        unusual=unusual,
        head=ledger.tree_head_json(head) if head is not None else None,
        verified=verified,
        verified_at=now if verified is not None else None,
        changes=changes,
        purposes=purposes,
        departments=departments,
        glass_pending=[g for g in glass if g.reviewed_at is None],
        glass_reviewed=[g for g in glass if g.reviewed_at is not None][:10],
        glass_error=glass_error,
        note_min=break_glass.MIN_NOTE,
        note_max=service.REASON_MAX,
        notice=notice,
    )


@router.get("/governance", response_class=HTMLResponse)
def overview_page(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    reviewed: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Break-glass reads to review, reads by department and purpose, unusual readers, the
    ledger, recent changes."""
    notice = f"Emergency read {reviewed} marked reviewed." if reviewed else None
    return _overview(request, caller, uow, clock(), days, notice=notice)


@router.post("/governance/break-glass/{read_id}/review", response_class=HTMLResponse)
def review_break_glass(
    request: Request,
    read_id: int,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    form: FormFields,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
) -> Response:
    """Mark a break-glass read reviewed with a note; a problem comes back beside the note."""
    now = clock()
    try:
        with uow() as session:
            break_glass.review_break_glass(
                session, caller, read_id=read_id, note=form.get("note", ""), now=now
            )
    except TwonetsError as exc:
        return _overview(
            request,
            caller,
            uow,
            now,
            days,
            glass_error=(read_id, exc, form),
            status_code=exc.status,
        )
    return _see_other("/governance", days=str(days), reviewed=str(read_id))


@router.get("/governance/readers/{actor}", response_class=HTMLResponse)
def reader_page(
    request: Request,
    actor: Annotated[str, Path(max_length=64)],
    caller: Officer,
    uow: Uow,
    clock: Clock,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Every read one member of staff made over the last days, paged: opened from the
    unusual readers and from break-glass reads."""
    since = clock() - timedelta(days=days)
    with uow() as session:
        found = reports.reads_of_reader(session, caller, actor=actor, since=since, page=page)
        departments = {d.code: d for d in core_service.list_departments(session)}
        glass = list(break_glass.list_break_glass(session, actor=actor))
    return _page(
        request,
        "governance/reader.html",
        caller,
        found=found,
        days=days,
        day_choices=OVERVIEW_DAYS,
        department=departments.get(found.department_code or ""),
        glass=glass,
        paging=page_links(
            f"/governance/readers/{quote(actor, safe='')}",
            {"days": str(days)},
            found.page,
            found.pages,
        ),
    )


@router.post("/governance/verify", response_class=HTMLResponse)
def verify_ledger(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    gov: Gov,
    days: Annotated[int, Query(ge=1, le=3650)] = 30,
) -> HTMLResponse:
    """Check every ledger entry and signed tree head now; show ok or the first problem."""
    with uow() as session:
        report = ledger.verify_ledger(session, gov.signer.public_key)
    if request.headers.get("HX-Request") == "true":
        return _page(
            request, "governance/_verify.html", caller, verified=report, verified_at=clock()
        )
    return _overview(request, caller, uow, clock(), days, verified=report)


# --- purposes ---------------------------------------------------------------------------------


def _purposes_page(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    now: datetime,
    *,
    form: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
    change: tuple[str, TwonetsError, Mapping[str, str]] | None = None,
    notice: str | None = None,
    highlight: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with uow() as session:
        purposes = list(service.list_purposes(session))
        departments = {d.code: d for d in core_service.list_departments(session)}
    states = {p.code: str(service.purpose_state(p, now)) for p in purposes}
    today = now.astimezone(SHANGHAI).date().isoformat()
    return _page(
        request,
        "governance/purposes.html",
        caller,
        status_code=status_code,
        purposes=purposes,
        states=states,
        departments=departments,
        legal_bases=[(b.value, BASIS_LABELS[b]) for b in LegalBasis],
        rules={
            # The browser's hints; the service checks the same rules again.
            "code_pattern": service.PURPOSE_CODE_PATTERN.replace("-]", "\\-]"),
            "code_max": service.PURPOSE_CODE_MAX,
            "name_max": service.PURPOSE_NAME_MAX,
            "retention_max": service.RETENTION_MAX_DAYS,
            "reason_max": service.REASON_MAX,
        },
        form=form or {"valid_from": today, "retention_days": "365"},
        error=error,
        errors=field_errors(error),
        change=change,
        notice=notice,
        highlight=highlight,
        now=now,
    )


@router.get("/governance/purposes", response_class=HTMLResponse)
def purposes_page(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    declared: Annotated[str, Query(max_length=64)] = "",
    changed: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Every purpose with its state, basis, owner, window and retention; forms to change them."""
    notice = None
    if declared:
        notice = f"Purpose {declared} declared."
    elif changed and action in PURPOSE_ACTIONS:
        notice = f"Purpose {changed} {PURPOSE_ACTIONS[action][1]}."
    return _purposes_page(
        request, caller, uow, clock(), notice=notice, highlight=declared or changed
    )


def _local_day(value: str, field: str, *, required: bool) -> datetime | None:
    if not value:
        if required:
            raise Invalid.field(field, "required", "give a date")
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid.field(field, "date", "should be a date such as 2026-12-01") from None
    return datetime.combine(day, time(0, 0), SHANGHAI).astimezone(UTC)


def _purpose_values(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's values as the service takes them: dates and numbers parsed, nothing judged."""
    retention = form.get("retention_days", "")
    try:
        retention_days = int(retention)
    except ValueError:
        raise Invalid.field(
            "retention_days", "integer", "should be a whole number of days"
        ) from None
    valid_from = _local_day(form.get("valid_from", ""), "valid_from", required=True)
    assert valid_from is not None
    return {
        "code": form.get("code", ""),
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "legal_basis": form.get("legal_basis", ""),
        "owner_department_code": form.get("owner_department_code", ""),
        "valid_from": valid_from,
        "valid_until": _local_day(form.get("valid_until", ""), "valid_until", required=False),
        "retention_days": retention_days,
    }


@router.post("/governance/purposes", response_class=HTMLResponse)
def declare_purpose(
    request: Request, caller: Officer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Declare a purpose; on a problem, the form comes back with its values and the reason."""
    now = clock()
    try:
        values = _purpose_values(form)
        with uow() as session:
            service.create_purpose(session, actor=caller.username, now=now, **values)
    except TwonetsError as exc:
        return _purposes_page(
            request, caller, uow, now, form=form, error=exc, status_code=exc.status
        )
    code = values["code"]
    return RedirectResponse(
        f"/governance/purposes?{urlencode({'declared': code})}#purpose-{code}", status_code=303
    )


@router.post("/governance/purposes/{code}/change", response_class=HTMLResponse)
def change_purpose(
    request: Request, code: str, caller: Officer, uow: Uow, clock: Clock, form: FormFields
) -> Response:
    """Suspend, resume or end a purpose, with a reason (logged)."""
    now = clock()
    action = form.get("action", "")
    try:
        if action not in PURPOSE_ACTIONS:
            raise Invalid.field("action", "known", "choose suspend, resume or end")
        with uow() as session:
            service.change_purpose(
                session,
                actor=caller.username,
                code=code,
                status={"suspend": PurposeStatus.SUSPENDED, "resume": PurposeStatus.ACTIVE}.get(
                    action
                ),
                end_now=action == "end",
                reason=form.get("reason", ""),
                now=now,
            )
    except TwonetsError as exc:
        return _purposes_page(
            request, caller, uow, now, change=(code, exc, form), status_code=exc.status
        )
    query = urlencode({"changed": code, "action": action})
    return RedirectResponse(f"/governance/purposes?{query}#purpose-{code}", status_code=303)


# --- policies ---------------------------------------------------------------------------------


def _grantee_kind(value: str) -> GranteeKind:
    try:
        return GranteeKind(value)
    except ValueError:
        raise Invalid.field(
            "grantee_kind", "known", "choose department, function or role"
        ) from None


def _policy_key(policy: Policy) -> dict[str, str]:
    return {
        "grantee_kind": str(policy.grantee_kind),
        "grantee": policy.grantee,
        "purpose_code": policy.purpose_code,
        "dataset": policy.dataset,
    }


def _choices(gov: service.Governance, uow: UnitOfWork) -> dict[str, Any]:
    """What the 'new grant' chooser offers: grantees, purposes and datasets."""
    with uow() as session:
        departments = list(core_service.list_departments(session))
        purposes = list(service.list_purposes(session))
    return {
        "choice_departments": departments,
        "choice_functions": sorted({d.function for d in departments}),
        # The roles that grant access or administer are never granted reads.
        "choice_roles": [r.value for r in service.grantable_roles()],
        "choice_purposes": purposes,
        "choice_datasets": sorted(gov.catalogue.datasets()),
    }


@router.get("/governance/policies", response_class=HTMLResponse)
def policies_page(
    request: Request,
    caller: Officer,
    uow: Uow,
    clock: Clock,
    gov: Gov,
    saved: Annotated[int | None, Query()] = None,
    revoked: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    """Policies in force by purpose and dataset: who reads which fields, masked how."""
    now = clock()
    with uow() as session:
        policies = list(service.list_policies(session))
        purposes = {p.code: p for p in service.list_purposes(session)}
        departments = {d.code: d for d in core_service.list_departments(session)}
    groups: dict[str, dict[str, list[Policy]]] = defaultdict(lambda: defaultdict(list))
    for policy in policies:
        groups[policy.purpose_code][policy.dataset].append(policy)
    saved_policy = next((p for p in policies if p.id == saved), None)
    return _page(
        request,
        "governance/policies.html",
        caller,
        groups={code: dict(datasets) for code, datasets in groups.items()},
        purposes=purposes,
        states={code: str(service.purpose_state(p, now)) for code, p in purposes.items()},
        departments=departments,
        grantee_text=lambda kind, grantee: grantee_text(kind, grantee, departments),
        key_query=lambda p: urlencode(_policy_key(p)),
        saved=saved_policy,
        revoked=revoked,
        count=len(policies),
        **_choices(gov, uow),
    )


@router.get("/governance/policies/history", response_class=HTMLResponse)
def policy_history(
    request: Request,
    caller: Officer,
    uow: Uow,
    grantee_kind: Annotated[str, Query(max_length=16)],
    grantee: Annotated[str, Query(max_length=64)],
    purpose_code: Annotated[str, Query(max_length=64)],
    dataset: Annotated[str, Query(max_length=64)],
) -> HTMLResponse:
    """Every version of one policy, newest first, with who changed what and why."""
    kind = _grantee_kind(grantee_kind)
    with uow() as session:
        versions = list(
            service.policy_versions(
                session,
                grantee_kind=kind,
                grantee=grantee,
                purpose_code=purpose_code,
                dataset=dataset,
            )
        )
        purpose = service.get_purpose(session, purpose_code)
        departments = {d.code: d for d in core_service.list_departments(session)}
    key = {
        "grantee_kind": kind.value,
        "grantee": grantee,
        "purpose_code": purpose_code,
        "dataset": dataset,
    }
    changes = [policy_changes(versions[i - 1] if i else None, p) for i, p in enumerate(versions)]
    return _page(
        request,
        "governance/policy_history.html",
        caller,
        versions=list(reversed(list(zip(versions, changes, strict=True)))),
        purpose=purpose,
        key=key,
        key_query=urlencode(key),
        who=grantee_text(kind, grantee, departments),
    )


def _values_of(policy: Policy | None) -> dict[str, str]:
    """The editor's inputs prefilled from a policy version (none if revoked or absent)."""
    values: dict[str, str] = {}
    if policy is None or policy.revoked:
        return values
    for name, spec in policy.fields.items():
        kind, first, last, metres = split_rule(spec)
        values[f"mask.{name}"] = kind
        values[f"first.{name}"] = first
        values[f"last.{name}"] = last
        values[f"metres.{name}"] = metres
    row_filter = dict(policy.row_filter or {})
    values["row_filter"] = "own" if row_filter.get("district") == "own" else ""
    if row_filter.get("equals"):
        values["equals"] = json.dumps(row_filter["equals"], ensure_ascii=False)
    if row_filter.get("minors") == "include":
        values["minors"] = "include"
    return values


def _editor(
    request: Request,
    caller: Principal,
    uow: UnitOfWork,
    gov: service.Governance,
    key: Mapping[str, str],
    *,
    values: Mapping[str, str] | None = None,
    error: TwonetsError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if not all(key.get(k) for k in ("grantee_kind", "grantee", "purpose_code", "dataset")):
        return _page(
            request,
            "governance/policy_edit.html",
            caller,
            status_code=status_code,
            chooser=True,
            key=key,
            error=error,
            errors=field_errors(error),
            **_choices(gov, uow),
        )
    kind = _grantee_kind(key["grantee_kind"])
    target: Dataset = gov.catalogue.get(key["dataset"])
    with uow() as session:
        purpose: Purpose = service.get_purpose(session, key["purpose_code"])
        versions = service.policy_versions(
            session,
            grantee_kind=kind,
            grantee=key["grantee"],
            purpose_code=key["purpose_code"],
            dataset=key["dataset"],
        )
        departments = {d.code: d for d in core_service.list_departments(session)}
    current = versions[-1] if versions else None
    return _page(
        request,
        "governance/policy_edit.html",
        caller,
        status_code=status_code,
        chooser=False,
        key=dict(key),
        key_query=urlencode(dict(key)),
        who=grantee_text(kind, key["grantee"], departments),
        purpose=purpose,
        dataset=target,
        current=current,
        next_version=(current.version + 1) if current else 1,
        values=values if values is not None else _values_of(current),
        mask_choices=MASK_CHOICES,
        reason_max=service.REASON_MAX,
        error=error,
        errors=field_errors(error),
    )


@router.get("/governance/policies/edit", response_class=HTMLResponse)
def policy_editor(
    request: Request,
    caller: Officer,
    uow: Uow,
    gov: Gov,
    grantee_kind: Annotated[str, Query(max_length=16)] = "",
    grantee: Annotated[str, Query(max_length=64)] = "",
    purpose_code: Annotated[str, Query(max_length=64)] = "",
    dataset: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """The policy editor, prefilled from the version in force (a chooser without a key)."""
    key = {
        "grantee_kind": grantee_kind,
        "grantee": grantee,
        "purpose_code": purpose_code,
        "dataset": dataset,
    }
    return _editor(request, caller, uow, gov, key)


def _fields_of(form: Mapping[str, str], target: Dataset) -> dict[str, str]:
    """The mask spec of each granted field, as the editor's inputs spell it."""
    fields = {}
    for name in target.fields:
        kind = form.get(f"mask.{name}", "")
        if not kind:
            continue
        if kind == "partial":
            first, last = form.get(f"first.{name}", ""), form.get(f"last.{name}", "")
            if not first or not last:
                raise Invalid.field(
                    f"fields.{name}",
                    "mask-rule",
                    "partial needs how many characters to keep at the start and at the end "
                    "(0 is allowed for one of them)",
                )
            kind = f"partial:{first}:{last}"
        elif kind == "grid":
            metres = form.get(f"metres.{name}", "")
            if not metres:
                raise Invalid.field(
                    f"fields.{name}", "mask-rule", "grid needs the cell size: 10 to 100000 metres"
                )
            kind = f"grid:{metres}"
        fields[name] = kind
    return fields


def _row_filter_of(form: Mapping[str, str]) -> dict[str, Any]:
    row_filter: dict[str, Any] = {}
    choice = form.get("row_filter", "")
    if choice == "own":
        row_filter["district"] = "own"
    elif choice:
        raise Invalid.field("row_filter", "known", "choose all rows or the reader's own district")
    if form.get("equals"):
        try:
            row_filter["equals"] = json.loads(form["equals"])
        except ValueError:
            raise Invalid.field("row_filter.equals", "json", "is not valid JSON") from None
    if form.get("minors") == "include":
        row_filter["minors"] = "include"
    return row_filter


@router.post("/governance/policies/edit", response_class=HTMLResponse)
def save_policy(
    request: Request, caller: Officer, uow: Uow, clock: Clock, gov: Gov, form: FormFields
) -> Response:
    """Write a new version of a policy, or withdraw the grant; problems come back on the form."""
    key = {k: form.get(k, "") for k in ("grantee_kind", "grantee", "purpose_code", "dataset")}
    now = clock()
    try:
        kind = _grantee_kind(key["grantee_kind"])
        target = gov.catalogue.get(key["dataset"])
        with uow() as session:
            if form.get("action") == "revoke":
                policy = service.revoke_policy(
                    session,
                    actor=caller.username,
                    grantee_kind=kind,
                    grantee=key["grantee"],
                    purpose_code=key["purpose_code"],
                    dataset=key["dataset"],
                    reason=form.get("reason", ""),
                    now=now,
                )
            else:
                policy = service.set_policy(
                    session,
                    gov.catalogue,
                    actor=caller.username,
                    grantee_kind=kind,
                    grantee=key["grantee"],
                    purpose_code=key["purpose_code"],
                    dataset=key["dataset"],
                    fields=_fields_of(form, target),
                    row_filter=_row_filter_of(form),
                    reason=form.get("reason", ""),
                    now=now,
                )
            policy_id, version, revoked = policy.id, policy.version, policy.revoked
    except TwonetsError as exc:
        try:
            return _editor(
                request, caller, uow, gov, key, values=form, error=exc, status_code=exc.status
            )
        except TwonetsError:
            raise exc from None  # the key itself is wrong: the error page says why
    if revoked:
        what = f"{key['grantee']} / {key['purpose_code']} / {key['dataset']} (version {version})"
        return _see_other("/governance/policies", revoked=what)
    return RedirectResponse(f"/governance/policies?saved={policy_id}#policy-{policy_id}", 303)
