"""The officer's policies: grants in force, one grant's history, and the policy editor."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.core.http import Clock, UnitOfWork, Uow
from twonets.governance import service
from twonets.governance.api import Gov
from twonets.governance.catalogue import Dataset
from twonets.governance.models import GranteeKind, Policy, Purpose
from twonets.web.governance.words import (
    MASK_CHOICES,
    Officer,
    Words,
    render_page,
    see_other,
    split_rule,
)
from twonets.web.pages import FormFields

router = APIRouter(include_in_schema=False)


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
    words = Words.of(request)
    now = clock()
    with uow() as session:
        policies = list(service.list_policies(session))
        purposes = {p.code: p for p in service.list_purposes(session)}
        departments = {d.code: d for d in core_service.list_departments(session)}
    groups: dict[str, dict[str, list[Policy]]] = defaultdict(lambda: defaultdict(list))
    for policy in policies:
        groups[policy.purpose_code][policy.dataset].append(policy)
    saved_policy = next((p for p in policies if p.id == saved), None)
    return render_page(
        request,
        "governance/policies.html",
        caller,
        groups={code: dict(datasets) for code, datasets in groups.items()},
        purposes=purposes,
        states={code: str(service.purpose_state(p, now)) for code, p in purposes.items()},
        departments=departments,
        grantee_text=lambda kind, grantee: words.grantee_text(kind, grantee, departments),
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
    words = Words.of(request)
    changes = [
        words.policy_changes(versions[i - 1] if i else None, p) for i, p in enumerate(versions)
    ]
    return render_page(
        request,
        "governance/policy_history.html",
        caller,
        versions=list(reversed(list(zip(versions, changes, strict=True)))),
        purpose=purpose,
        key=key,
        key_query=urlencode(key),
        who=words.grantee_text(kind, grantee, departments),
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
    words = Words.of(request)
    if not all(key.get(k) for k in ("grantee_kind", "grantee", "purpose_code", "dataset")):
        return render_page(
            request,
            "governance/policy_edit.html",
            caller,
            status_code=status_code,
            chooser=True,
            key=key,
            error=error,
            errors=words.field_errors(error),
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
    return render_page(
        request,
        "governance/policy_edit.html",
        caller,
        status_code=status_code,
        chooser=False,
        key=dict(key),
        key_query=urlencode(dict(key)),
        who=words.grantee_text(kind, key["grantee"], departments),
        purpose=purpose,
        dataset=target,
        current=current,
        next_version=(current.version + 1) if current else 1,
        values=values if values is not None else _values_of(current),
        mask_choices=[(k, words._(label)) for k, label in MASK_CHOICES],
        reason_max=service.REASON_MAX,
        error=error,
        errors=words.field_errors(error),
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
        return see_other("/governance/policies", revoked=what)
    return RedirectResponse(f"/governance/policies?saved={policy_id}#policy-{policy_id}", 303)
