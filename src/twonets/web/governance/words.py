"""Words of the governance pages: how fields, datasets, rules and changes are named for a
person, and what every governance page shares (the callers it admits, rendering, paging)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from twonets.core.auth import Principal
from twonets.core.http import require
from twonets.core.models import Department, Role
from twonets.governance import service
from twonets.governance.api import officer
from twonets.governance.models import GranteeKind, LegalBasis, Policy
from twonets.web.pages import local_date, local_iso, local_time, render

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


def render_page(
    request: Request,
    template: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(request, template, principal, status_code, **HELPERS, **context)


def see_other(path: str, **query: str) -> RedirectResponse:
    suffix = "?" + urlencode(query) if query else ""
    return RedirectResponse(path + suffix, status_code=303)


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


def grantee_text_of(grantee: str, departments: Mapping[str, Department]) -> str:
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
