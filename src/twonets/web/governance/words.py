"""Words of the governance pages: how fields, datasets, rules and changes are named for a
person in the page's language, and what every governance page shares (the callers it admits,
rendering, paging).

Texts are written in English and marked with ``N_``; ``Words.of(request)`` translates them for
one page, and the templates get its helpers, so that every text speaks the page's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from twonets.core.auth import Principal
from twonets.core.errors import FieldProblem
from twonets.core.http import require
from twonets.core.models import Department, Role
from twonets.governance import break_glass, masking, service
from twonets.governance.api import officer
from twonets.governance.models import GranteeKind, LegalBasis, Policy
from twonets.web import i18n
from twonets.web.i18n import N_
from twonets.web.pages import local_date, local_iso, local_time, render

Subject = Annotated[Principal, Depends(require(Role.CITIZEN, Role.ENTERPRISE))]
Officer = Annotated[Principal, Depends(officer)]

OVERVIEW_DAYS = (7, 30, 90, 365)


# --- words for people -------------------------------------------------------------------------

FIELD_LABELS = {
    "id": N_("record number"),
    "id_number": N_("ID number"),
    "name": N_("name"),
    "birth_date": N_("date of birth"),
    "sex": N_("sex"),
    "phone": N_("phone number"),
    "district_code": N_("district"),
    "address": N_("address"),
    "home_lon": N_("home location"),
    "home_lat": N_("home location"),
    "credit_code": N_("credit code"),
    "legal_representative": N_("legal representative"),
    "industry": N_("industry"),
    "lon": N_("location"),
    "lat": N_("location"),
    "created_at": N_("date registered"),
}

RECORD_LABELS = {
    "home_lon": N_("home location (longitude)"),
    "home_lat": N_("home location (latitude)"),
    "lon": N_("location (longitude)"),
    "lat": N_("location (latitude)"),
}

DATASET_LABELS = {
    "core.citizen": N_("Resident register"),
    "core.enterprise": N_("Enterprise register"),
}

KIND_LABELS = {
    "read": N_("viewed"),
    "export": N_("exported to a file"),
    "copy": N_("your own copy"),
    "break-glass": N_("read in an emergency (break-glass)"),
}

BASIS_LABELS = {
    LegalBasis.CONSENT: N_("your consent"),
    LegalBasis.CONTRACT: N_("a contract with you"),
    LegalBasis.STATUTORY_DUTY: N_("a statutory duty"),
    LegalBasis.PUBLIC_HEALTH_EMERGENCY: N_("a public-health emergency"),
    LegalBasis.PUBLIC_INTEREST_NEWS: N_("news reporting in the public interest"),
    LegalBasis.PUBLICLY_DISCLOSED: N_("information already made public"),
    LegalBasis.OTHER_LAW: N_("another law"),
}

# The mask kinds of the policy editor, in the order of its select.
MASK_CHOICES = (
    ("", N_("not granted")),
    ("keep", N_("keep (in full)")),
    ("redact", N_("redact (empty value)")),
    ("partial", N_("partial (first / last characters)")),
    ("year", N_("year only")),
    ("grid", N_("grid (coordinates to cells)")),
    ("pseudonym", N_("pseudonym")),
)

ACTION_LABELS = {
    "purpose.created": N_("purpose declared"),
    "purpose.changed": N_("purpose changed"),
    "policy.set": N_("policy written"),
    "policy.revoked": N_("grant withdrawn"),
    "export.made": N_("export made"),
    "retention.run": N_("retention run"),
    "key.rotated": N_("key rotated"),
    "break-glass.reviewed": N_("emergency read reviewed"),
}

# What each purpose action is called on its button, and the notice after it.
PURPOSE_ACTIONS = {
    "suspend": (N_("Suspend"), N_("Purpose %(code)s suspended.")),
    "resume": (N_("Resume"), N_("Purpose %(code)s resumed.")),
    "end": (N_("End now"), N_("Purpose %(code)s ended.")),
}

STATE_LABELS = {
    "active": N_("active"),
    "suspended": N_("suspended"),
    "expired": N_("expired"),
    "not-yet-valid": N_("not yet valid"),
}

DATA_CLASS_LABELS = {
    "public": N_("public"),
    "personal": N_("personal"),
    "sensitive": N_("sensitive"),
}

# The values an audited change shows, named as the officer's pages name them.
CHANGE_KEYS = {
    "version": N_("version"),
    "fields": N_("fields"),
    "rows": N_("rows"),
    "row_filter": N_("row filter"),
    "revoked": N_("revoked"),
    "legal_basis": N_("legal basis"),
    "retention_days": N_("retention days"),
    "status": N_("status"),
    "valid_from": N_("valid from"),
    "valid_until": N_("valid until"),
    "name": N_("name"),
    "owner_department_code": N_("owner department code"),
    "grantee_kind": N_("grantee kind"),
    "grantee": N_("grantee"),
    "purpose_code": N_("purpose code"),
    "dataset": N_("dataset"),
}

VERSION_WORDS = {
    service.VersionChange.FIRST: N_("first version"),
    service.VersionChange.WITHDRAWN: N_("grant withdrawn"),
    service.VersionChange.GRANTED_AGAIN: N_("granted again"),
}

# The labels of the forms' fields, so that a problem names what the person sees.
PURPOSE_LABELS = {
    "code": N_("Code"),
    "name": N_("Name"),
    "description": N_("Description"),
    "legal_basis": N_("Legal basis"),
    "owner_department_code": N_("Owner department"),
    "valid_from": N_("Starts on"),
    "valid_until": N_("Ends on"),
    "retention_days": N_("Retention (days)"),
    "reason": N_("Reason"),
    "status": N_("Change"),
    "action": N_("Change"),
}

POLICY_LABELS = {
    "grantee_kind": N_("Grantee kind"),
    "grantee": N_("Grantee"),
    "purpose_code": N_("Purpose"),
    "dataset": N_("Dataset"),
    "reason": N_("Reason for this change"),
    "fields": N_("Fields"),
}

# The service's refusals in the words of the forms, by (field, rule); the values come from the
# service's own limits. A refusal not listed here is shown as the service words it.
PROBLEM_WORDS = {
    ("code", "pattern"): N_(
        "use lower-case words joined by dots, such as housing.group-rental "
        "(%(code_max)s characters at most)"
    ),
    ("name", "length"): N_("give a name of 1 to %(name_max)s characters"),
    ("legal_basis", "known"): N_("choose a legal basis of PIPL Art. 13"),
    ("valid_from", "required"): N_("give a date"),
    ("valid_from", "date"): N_("should be a date such as 2026-12-01"),
    ("valid_until", "date"): N_("should be a date such as 2026-12-01"),
    ("valid_until", "after-valid-from"): N_("should be after the day the purpose starts"),
    ("retention_days", "range"): N_("should be a whole number of days from 0 to %(retention_max)s"),
    ("retention_days", "integer"): N_("should be a whole number of days"),
    ("owner_department_code", "exists"): N_("choose a department of the list"),
    ("reason", "required"): N_("say why"),
    ("reason", "length"): N_("should be %(reason_max)s characters at most"),
    ("action", "known"): N_("choose suspend, resume or end"),
    ("note", "length"): N_("write %(note_min)s to %(reason_max)s characters"),
    ("grantee_kind", "known"): N_("choose department, function or role"),
    ("grantee", "exists"): N_("no such grantee: choose one of the list"),
    ("grantee", "separation-of-duties"): N_(
        "the roles that grant access or administer the platform are never granted reads"
    ),
    ("fields", "non-empty"): N_("grant at least one field (or withdraw the grant)"),
    ("row_filter", "known"): N_("choose all rows or the reader's own district"),
    ("row_filter.equals", "json"): N_("is not valid JSON"),
}

# Any refusal of one field's mask in the policy editor (the service says precisely which).
MASK_PROBLEM = N_(
    "check the mask: partial keeps the first and last characters (one of them may be 0, "
    "not both), grid needs a cell of %(grid_min)s to %(grid_max)s metres"
)

PROBLEM_VALUES = {
    "grid_min": masking.GRID_MIN_M,
    "grid_max": masking.GRID_MAX_M,
    "code_max": service.PURPOSE_CODE_MAX,
    "name_max": service.PURPOSE_NAME_MAX,
    "retention_max": service.RETENTION_MAX_DAYS,
    "reason_max": service.REASON_MAX,
    "note_min": break_glass.MIN_NOTE,
}


class Words:
    """The governance pages' words in one language (``gettext`` of the page's catalogue)."""

    def __init__(self, gettext: Callable[[str], str], *, source: bool = False) -> None:
        self._ = gettext
        # In the language the texts are written in, a refusal keeps the service's own words
        # (they may say more than the form's general wording).
        self.source = source

    @classmethod
    def of(cls, request: Request) -> Words:
        """The words of the language ``request``'s page is shown in."""
        code = i18n.language_of(request).code
        return cls(i18n.translations(code, "governance").gettext, source=code == i18n.SOURCE)

    def field_label(self, name: str) -> str:
        """A field as a person calls it."""
        known = FIELD_LABELS.get(name)
        return self._(known) if known else name.replace("_", " ")

    def record_label(self, name: str) -> str:
        """A field of a person's own record, each named apart: ``Home location (longitude)``."""
        known = RECORD_LABELS.get(name)
        label = self._(known) if known else self.field_label(name)
        return label[:1].upper() + label[1:]

    def fields_text(self, names: Iterable[str]) -> str:
        """Fields in words, each once, in their order: ``name, phone number, home location``."""
        labels: list[str] = []
        for name in names:
            label = self.field_label(name)
            if label not in labels:
                labels.append(label)
        text = self._(", ").join(labels)
        return text[:1].upper() + text[1:]

    def dataset_label(self, name: str) -> str:
        """A dataset as a person calls it."""
        known = DATASET_LABELS.get(name)
        return self._(known) if known else name

    def kind_label(self, kind: str) -> str:
        """What kind of access a ledger entry records."""
        known = KIND_LABELS.get(kind)
        return self._(known) if known else kind

    def basis_label(self, value: str | None) -> str:
        """A legal basis in words."""
        if not value:
            return "—"
        try:
            return self._(BASIS_LABELS[LegalBasis(value)])
        except ValueError:
            return value

    def state_label(self, state: str) -> str:
        """Whether a purpose grants anything, in words."""
        known = STATE_LABELS.get(state)
        return self._(known) if known else state

    def class_label(self, data_class: str) -> str:
        """A field's data class (public, personal, sensitive) in words."""
        known = DATA_CLASS_LABELS.get(data_class)
        return self._(known) if known else data_class

    def action_label(self, action: str) -> str:
        """What an audited change was, in words."""
        known = ACTION_LABELS.get(action)
        return self._(known) if known else action

    def retention_text(self, days: int) -> str:
        """A retention period in words: ``28 days``, ``10 years``."""
        if days and days % 365 == 0:
            years = days // 365
            text = self._("%(n)s year") if years == 1 else self._("%(n)s years")
            return text % {"n": years}
        text = self._("%(n)s day") if days == 1 else self._("%(n)s days")
        return text % {"n": days}

    def rule_text(self, spec: str) -> str:
        """A mask spec in words: ``first 6 and last 4 characters shown``."""
        kind, first, last, metres = split_rule(spec)
        if kind == "keep":
            return self._("in full")
        if kind == "redact":
            return self._("redacted (empty)")
        if kind == "partial":
            if first != "0" and last != "0":
                text = self._("first %(first)s and last %(last)s characters shown")
            elif first != "0":
                text = (
                    self._("first %(first)s character shown")
                    if first == "1"
                    else self._("first %(first)s characters shown")
                )
            else:
                text = (
                    self._("last %(last)s character shown")
                    if last == "1"
                    else self._("last %(last)s characters shown")
                )
            return text % {"first": first, "last": last}
        if kind == "year":
            return self._("year only")
        if kind == "grid":
            return self._("%(metres)s m grid cell") % {"metres": metres}
        if kind == "pseudonym":
            return self._("pseudonym")
        return spec

    def _short(self, value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T.*", value):
            return local_time(value)
        if isinstance(value, dict):
            return ", ".join(f"{k} {v}" for k, v in value.items()) or self._("none")
        return str(value)

    def change_lines(
        self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
    ) -> list[str]:
        """What an audited change did, one line per changed value (the service finds them)."""
        lines = []
        for d in service.change_differences(before, after):
            known = CHANGE_KEYS.get(d.key)
            key = self._(known) if known else d.key.replace("_", " ")
            if d.item is None and before is None:
                lines.append(f"{key}: {self._short(d.after)}")
            elif d.item is None:
                lines.append(f"{key}: {self._short(d.before)} → {self._short(d.after)}")
            elif d.kind is service.DifferenceKind.REMOVED:
                lines.append(f"{key}: − {d.item}")
            elif d.kind is service.DifferenceKind.ADDED:
                lines.append(f"{key}: + {d.item} {d.after}")
            else:
                lines.append(f"{key}: {d.item} {d.before} → {d.after}")
        return lines

    def policy_changes(self, before: Policy | None, after: Policy) -> list[str]:
        """What one policy version changed from the one before, in words."""
        change, differences = service.version_differences(before, after)
        if change in VERSION_WORDS:
            return [self._(VERSION_WORDS[change])]
        lines = []
        for d in differences:
            if d.key == "row_filter":
                values = {"before": self._short(d.before), "after": self._short(d.after)}
                lines.append(self._("rows: %(before)s → %(after)s") % values)
                continue
            label = self.record_label(d.item or "")
            if d.kind is service.DifferenceKind.ADDED:
                values = {"field": label, "rule": self.rule_text(str(d.after))}
                lines.append(self._("%(field)s granted: %(rule)s") % values)
            elif d.kind is service.DifferenceKind.REMOVED:
                lines.append(self._("%(field)s no longer granted") % {"field": label})
            else:
                before_text, after_text = (
                    self.rule_text(str(d.before)),
                    self.rule_text(str(d.after)),
                )
                lines.append(f"{label}: {before_text} → {after_text}")
        return lines or [self._("no change to fields or rows")]

    def purpose_label(self, field: str) -> str:
        """The label of the purpose form's element a field problem is about."""
        known = PURPOSE_LABELS.get(field)
        return self._(known) if known else field.replace("_", " ").capitalize()

    def problem_label(self, field: str) -> str:
        """The policy editor's element a field problem is about, as the page labels it."""
        if field.startswith("fields."):
            return self.record_label(field.removeprefix("fields."))
        if field.startswith("row_filter"):
            return self._("Rows")
        known = POLICY_LABELS.get(field)
        return self._(known) if known else field.replace("_", " ").capitalize()

    def problem_text(self, problem: FieldProblem) -> str:
        """A refusal of one field in the page's language (as the service words it if unknown)."""
        known = PROBLEM_WORDS.get((problem.field, problem.rule))
        if known is None and problem.field.startswith("fields.") and problem.rule == "mask-rule":
            known = MASK_PROBLEM
        if known is None or self.source:
            return problem.detail
        return self._(known) % PROBLEM_VALUES

    def field_errors(self, error: Any) -> dict[str, str]:
        """The message for each field an error names, for a form to show beside the field."""
        if error is None:
            return {}
        return {problem.field: self.problem_text(problem) for problem in error.errors}

    def grantee_text(self, kind: str, grantee: str, departments: Mapping[str, Department]) -> str:
        """Who a policy grants to, in words."""
        if kind == GranteeKind.DEPARTMENT:
            found = departments.get(grantee)
            return f"{found.name} {found.name_en}" if found else grantee
        if kind == GranteeKind.FUNCTION:
            return self._("every %(function)s department") % {"function": grantee.replace("-", " ")}
        return self._("accounts with the role %(role)s") % {"role": grantee.replace("_", " ")}

    def grantee_text_of(self, grantee: str, departments: Mapping[str, Department]) -> str:
        """Who a policy grants to, from its ``kind:name`` spelling."""
        kind, _, name = grantee.partition(":")
        return self.grantee_text(kind, name, departments)

    def helpers(self) -> dict[str, Any]:
        """What the governance templates call to word things."""
        return {
            "when": local_time,
            "day": local_date,
            "iso": local_iso,
            "field_label": self.field_label,
            "record_label": self.record_label,
            "value_text": value_text,
            "fields_text": self.fields_text,
            "dataset_label": self.dataset_label,
            "kind_label": self.kind_label,
            "basis_label": self.basis_label,
            "state_label": self.state_label,
            "class_label": self.class_label,
            "retention_text": self.retention_text,
            "rule_text": self.rule_text,
            "change_lines": self.change_lines,
            "target_link": target_link,
            "problem_label": self.problem_label,
            "problem_text": self.problem_text,
            "purpose_label": self.purpose_label,
            "problem_anchor": problem_anchor,
            "action_label": self.action_label,
        }


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


def split_rule(spec: str) -> tuple[str, str, str, str]:
    """A mask spec as the editor's inputs: (kind, first, last, metres)."""
    kind, *parts = spec.split(":")
    if kind == "partial" and len(parts) == 2:
        return kind, parts[0], parts[1], ""
    if kind == "grid" and len(parts) == 1:
        return kind, "", "", parts[0]
    return kind, "", "", ""


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


def render_page(
    request: Request,
    template: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A governance page, with the words of its language."""
    words = Words.of(request)
    return render(request, template, principal, status_code, **words.helpers(), **context)


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
