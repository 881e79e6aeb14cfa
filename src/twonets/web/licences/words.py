"""How licences read to people: labels, statuses, a verdict's failing step, issuers' places;
and rendering a licence page with these helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import NotFound
from twonets.core.models import Department, Region
from twonets.licences import catalogue
from twonets.licences.verify import CredentialVerdict
from twonets.web.pages import local_time, render

STATUS_LABELS = {
    "active": "in force",
    "suspended": "suspended",
    "revoked": "revoked",
    "superseded": "replaced by a newer version",
}

# A licence's history entries in words.
ACTION_LABELS = {
    "issued": "Issued",
    "amended": "Amended: a new version",
    "superseded": "Replaced by a newer version",
    "suspended": "Suspended",
    "resumed": "Back in force",
    "revoked": "Revoked",
}

# The failing step of a verdict, as a clerk reads it: a headline and what it means.
STEP_WORDS: dict[str, tuple[str, str]] = {
    "prefix": (
        "Not a licence code",
        "The code does not start with a region prefix such as SH1:. It may be another kind "
        "of QR code (a payment or a web link), or only part of it was copied.",
    ),
    "base45": (
        "Damaged code",
        "The code's text is not valid base45: part of it is missing or was changed.",
    ),
    "compression": (
        "Damaged code",
        "The code's content does not unpack (zlib): it was cut short or changed.",
    ),
    "cbor": (
        "Damaged code",
        "The code's content cannot be read (CBOR): it is not a licence, or it was changed.",
    ),
    "format": (
        "Not a licence presentation",
        "The shared text is not a complete SD-JWT presentation. Ask the holder to copy all "
        "of it, from the first character to the last.",
    ),
    "kid": (
        "Unknown signing key",
        "The code names a signing key that no recognised region lists.",
    ),
    "signature": (
        "Forged or altered",
        "The issuer's signature does not match: the licence was changed after it was signed.",
    ),
    "trust": (
        "Region not recognised",
        "The licence was issued in a region whose licences are not recognised here.",
    ),
    "expired": (
        "Expired",
        "The code or presentation is past its expiry date. Ask the holder for a new one.",
    ),
    "not_yet_valid": (
        "Not valid yet",
        "The code says it becomes valid later. Check the clock of this device.",
    ),
    "holder_binding": (
        "Not shown by its holder",
        "The presentation was not made for you, just now, by the licence's holder: the "
        "holder's signature, your verifier name or your challenge does not match. Ask the "
        "holder to share the licence again with the challenge you give them.",
    ),
    "disclosure": (
        "Altered details",
        "A detail in the presentation does not match what the issuer signed.",
    ),
}


def licence_type(code: str | None) -> catalogue.LicenceType | None:
    """The catalogue entry of a licence type, or None for an unknown code."""
    if not code:
        return None
    try:
        return catalogue.get_type(code)
    except NotFound:
        return None


def field_label(type_code: str | None, name: str) -> str:
    """A licence field as the catalogue labels it."""
    kind = licence_type(type_code)
    if kind is not None:
        for f in kind.fields:
            if f.name == name:
                return f.label
    return name.replace("_", " ").capitalize()


def day_text(value: date | str | None) -> str:
    """A calendar day as people read it: ``4 Mar 1985``."""
    if value is None or value == "":
        return "—"
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return str(value)
    return f"{day.day} {day:%b %Y}"


def claim_text(type_code: str | None, name: str, value: Any) -> str:
    """A licence claim's value as people read it (dates in words)."""
    kind = licence_type(type_code)
    if kind is not None and isinstance(value, str):
        for f in kind.fields:
            if f.name == name and f.type is catalogue.FieldType.DATE:
                return day_text(value)
    if value is None or value == "":
        return "—"
    return str(value)


def is_hash(type_code: str | None, name: str) -> bool:
    """Whether a field holds a digest (shown shortened, in full on hover)."""
    kind = licence_type(type_code)
    return kind is not None and any(
        f.name == name and f.type is catalogue.FieldType.HASH for f in kind.fields
    )


def labels_text(type_code: str, names: Iterable[str]) -> str:
    """Fields in words: ``Name, ID number, Photo (SHA-256)``."""
    return ", ".join(field_label(type_code, n) for n in names)


def status_label(status: str) -> str:
    """A licence status in words."""
    return STATUS_LABELS.get(status, status)


def action_label(action: str) -> str:
    """A change in a licence's history in words."""
    return ACTION_LABELS.get(action, action)


def step_words(verdict: CredentialVerdict) -> tuple[str, str]:
    """The headline and the plain explanation of a failed verdict."""
    step, detail = verdict.step, verdict.detail
    if step == "status":
        if verdict.status == "revoked":
            return (
                "Revoked",
                "The issuer has revoked this licence (or replaced it with a newer version). "
                "Do not accept it.",
            )
        if verdict.status == "suspended":
            return (
                "Suspended",
                "The issuer has suspended this licence, for example because it was reported "
                "lost. Do not accept it now.",
            )
        return (
            "Status unknown",
            "Whether the licence is still in force could not be checked.",
        )
    if step == "prefix" and verdict.named_region:
        return (
            "Region not recognised",
            f"The code is of region {verdict.named_region}, whose licences are not "
            "recognised here.",
        )
    return STEP_WORDS.get(step, (step.replace("_", " ").capitalize(), detail))


@dataclass(frozen=True)
class Places:
    """Regions and departments by code, to name issuers."""

    regions: Mapping[str, Region]
    departments: Mapping[str, Department]

    def region(self, code: str | None) -> str:
        """A region by name: ``Jiangsu 江苏省``."""
        if not code:
            return "unknown region"
        region = self.regions.get(code)
        return f"{region.name_en} {region.name}" if region else code

    def region_en(self, code: str | None) -> str:
        """A region's English name."""
        region = self.regions.get(code or "")
        return region.name_en if region else (code or "unknown region")

    def is_home(self, code: str | None) -> bool:
        """Whether a region is this platform's own."""
        region = self.regions.get(code or "")
        return bool(region and region.home)

    def department(self, code: str | None) -> Department | None:
        """A department by code (an issuer of ``SH:sh.police`` is ``sh.police``)."""
        if not code:
            return None
        return self.departments.get(code.split(":", 1)[-1])


def places_of(session: Session) -> Places:
    """The regions and departments of this platform, to name issuers."""
    return Places(
        regions={r.code: r for r in core_service.list_regions(session)},
        departments={d.code: d for d in core_service.list_departments(session)},
    )


HELPERS: dict[str, Any] = {
    "licence_type": licence_type,
    "field_label": field_label,
    "claim_text": claim_text,
    "is_hash": is_hash,
    "day": day_text,
    "when": local_time,
    "labels_text": labels_text,
    "status_label": status_label,
    "action_label": action_label,
}


def page(
    request: Request,
    template: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a licence page in the shell, with the helpers its templates use."""
    return render(request, template, principal, status_code, **HELPERS, **context)


def result_text(result: str) -> str:
    """A verification result as a clerk's headline: ``valid``, ``Revoked``..."""
    if result == "valid":
        return "valid"
    if result == "status":
        return "revoked or suspended"
    return STEP_WORDS.get(result, (result.replace("_", " "), ""))[0].lower()
