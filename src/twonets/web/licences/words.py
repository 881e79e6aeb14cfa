"""How licences read to people, in the page's language: labels, statuses, a verdict's failing
step, dates, issuers' places, and the words of a refused form; and rendering a licence page
with these helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from twonets.core import service as core_service
from twonets.core.auth import Principal
from twonets.core.errors import NotFound, TwonetsError
from twonets.core.models import Department, Region
from twonets.licences import catalogue
from twonets.licences.verify import CredentialVerdict
from twonets.web import i18n
from twonets.web.i18n import N_
from twonets.web.pages import local_iso, local_time, render

STATUS_LABELS = {
    "active": N_("in force"),
    "suspended": N_("suspended"),
    "revoked": N_("revoked"),
    "superseded": N_("replaced by a newer version"),
}

# A licence's history entries in words.
ACTION_LABELS = {
    "issued": N_("Issued"),
    "amended": N_("Amended: a new version"),
    "superseded": N_("Replaced by a newer version"),
    "suspended": N_("Suspended"),
    "resumed": N_("Back in force"),
    "revoked": N_("Revoked"),
}

# The failing step of a verdict, as a clerk reads it: a headline and what it means.
STEP_WORDS: dict[str, tuple[str, str]] = {
    "prefix": (
        N_("Not a licence code"),
        N_(
            "The code does not start with a region prefix such as SH1:. It may be another kind "
            "of QR code (a payment or a web link), or only part of it was copied."
        ),
    ),
    "base45": (
        N_("Damaged code"),
        N_("The code's text is not valid base45: part of it is missing or was changed."),
    ),
    "compression": (
        N_("Damaged code"),
        N_("The code's content does not unpack (zlib): it was cut short or changed."),
    ),
    "cbor": (
        N_("Damaged code"),
        N_("The code's content cannot be read (CBOR): it is not a licence, or it was changed."),
    ),
    "format": (
        N_("Not a licence presentation"),
        N_(
            "The shared text is not a complete SD-JWT presentation. Ask the holder to copy all "
            "of it, from the first character to the last."
        ),
    ),
    "kid": (
        N_("Unknown signing key"),
        N_("The code names a signing key that no recognised region lists."),
    ),
    "signature": (
        N_("Forged or altered"),
        N_("The issuer's signature does not match: the licence was changed after it was signed."),
    ),
    "trust": (
        N_("Region not recognised"),
        N_("The licence was issued in a region whose licences are not recognised here."),
    ),
    "expired": (
        N_("Expired"),
        N_("The code or presentation is past its expiry date. Ask the holder for a new one."),
    ),
    "not_yet_valid": (
        N_("Not valid yet"),
        N_("The code says it becomes valid later. Check the clock of this device."),
    ),
    "holder_binding": (
        N_("Not shown by its holder"),
        N_(
            "The presentation was not made for you, just now, by the licence's holder: the "
            "holder's signature, your verifier name or your challenge does not match. Ask the "
            "holder to share the licence again with the challenge you give them."
        ),
    ),
    "disclosure": (
        N_("Altered details"),
        N_("A detail in the presentation does not match what the issuer signed."),
    ),
}


# The catalogue's field labels and choices, for the catalogue of translations (the catalogue
# of licence types is data in English; the pages translate its words).
CATALOGUE_WORDS = (
    N_("Address"),
    N_("Registered address"),
    N_("Awarded on"),
    N_("Date of birth"),
    N_("Business scope"),
    N_("Unified social credit code"),
    N_("Name"),
    N_("Established"),
    N_("First issued"),
    N_("Head of household"),
    N_("ID number"),
    N_("Legal representative"),
    N_("Photo (SHA-256)"),
    N_("Plate"),
    N_("Profession"),
    N_("Registered capital"),
    N_("Registered on"),
    N_("Relation to the head"),
    N_("Sex"),
    N_("Specialty"),
    N_("Spouse's ID number"),
    N_("Spouse's name"),
    N_("Vehicle classes"),
    N_("Vehicle type"),
    N_("Vehicle identification number"),
    N_("Level"),
    N_("Energy"),
    N_("male"),
    N_("female"),
    N_("fuel"),
    N_("electric"),
    N_("hybrid"),
    N_("junior"),
    N_("intermediate"),
    N_("senior"),
)

# Labels whose word elsewhere on the pages means something else (a person's "Name" is 姓名,
# an account's is 名称): their own texts, shown as the catalogue's label where untranslated.
FIELD_KEYS = {
    ("name", "Name"): N_("licence field: a person's name"),
    ("enterprise_name", "Name"): N_("licence field: an enterprise's name"),
    ("address", "Address"): N_("licence field: a person's address"),
    ("id_number", "ID number"): N_("licence field: a resident's ID number"),
    ("level", "Level"): N_("licence field: a qualification's level"),
}

# What a refused field says, by its field and rule ("*": any field); the values a text may
# use are the service's own reason and the field's label. Rules not here show the service's
# words.
FIELD_WORDS: dict[tuple[str, str], str] = {
    ("*", "required"): N_("%(label)s is required"),
    ("*", "id_number"): N_("not a valid ID number: %(reason)s"),
    ("*", "credit_code"): N_("not a valid credit code: %(reason)s"),
    ("*", "date"): N_("should be a date"),
    ("*", "hash"): N_("should be a SHA-256 digest in lower-case hex"),
    ("*", "choice"): N_("choose one of the offered values"),
    ("*", "text"): N_("should be at most 200 characters"),
    ("claims.id_number", "registered"): N_("no registered resident has this ID number"),
    ("claims.credit_code", "registered"): N_("no registered enterprise has this credit code"),
    ("valid_from", "required"): N_("choose a day"),
    ("valid_until", "after-valid-from"): N_("should be after the first day of validity"),
    ("type", "known"): N_("choose a licence type your department issues"),
    ("audience", "required"): N_("name who you show the licence to"),
    ("nonce", "required"): N_("enter the challenge the verifier gave you"),
    ("credential", "required"): N_(
        "paste the QR code's text or the shared presentation, or choose a photo of the QR code"
    ),
    ("image", "empty"): N_("the file is empty: choose a photo of the QR code"),
    ("image", "size"): N_("the image is too large: use a photo under 10 MB"),
    ("image", "image"): N_("the file is not an image that can be read (use PNG or JPEG)"),
    ("image", "no-qr-code"): N_(
        "no QR code was found in the image: photograph the code straight on, close enough "
        "that it fills most of the picture, without glare"
    ),
    ("anchor", "required"): N_("paste the region's anchor (a PEM key)"),
    ("trust_list", "required"): N_("paste the region's signed trust list"),
    ("anchor", "pem"): N_("not a PEM public key: paste the anchor exactly as the region gave it"),
    ("trust_list", "trust-invalid-trust-list"): N_(
        "not a signed trust list: paste the compact JWS exactly as the region publishes it"
    ),
    ("trust_list", "trust-bad-signature"): N_(
        "the list's signature does not verify under this anchor: the anchor or the list is "
        "not the region's"
    ),
    ("trust_list", "trust-stale-trust-list"): N_(
        "the list is out of date: ask the region for its current list"
    ),
    ("trust_list", "trust-wrong-region"): N_("the list belongs to another region"),
    ("trust_list", "trust-rollback"): N_("the list is older than the one already held"),
}
# Words for the values of ``FIELD_WORDS`` texts whose field is not a licence claim.
FORM_LABELS = {
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "reason": N_("Reason"),
}
TRUST_STATES = {
    "current": N_("current"),
    "stale": N_("out of date"),
    "broken": N_("does not verify"),
    "certificates": N_("certificates"),
}


def licence_type(code: str | None) -> catalogue.LicenceType | None:
    """The catalogue entry of a licence type, or None for an unknown code."""
    if not code:
        return None
    try:
        return catalogue.get_type(code)
    except NotFound:
        return None


@dataclass(frozen=True)
class Places:
    """Regions and departments by code, to name issuers."""

    regions: Mapping[str, Region]
    departments: Mapping[str, Department]

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


@dataclass(frozen=True)
class Words:
    """How licences read to people in one language (``zh`` or ``en``)."""

    language: str

    @classmethod
    def of(cls, request: Request) -> Words:
        """The words of the language the request's page speaks."""
        return cls(i18n.language_of(request).code)

    @property
    def chinese(self) -> bool:
        """Whether the page speaks Chinese."""
        return self.language == "zh"

    def t(self, message: str, **values: Any) -> str:
        """One text in this language, with its values filled in."""
        text = i18n.translate(self.language, message)
        return text % values if values else text

    def field_label(self, type_code: str | None, name: str) -> str:
        """A licence field as the catalogue labels it."""
        kind = licence_type(type_code)
        if kind is not None:
            for f in kind.fields:
                if f.name == name:
                    key = FIELD_KEYS.get((f.name, f.label))
                    if key is not None and (text := self.t(key)) != key:
                        return text
                    return self.t(f.label)
        return name.replace("_", " ").capitalize()

    def labels_text(self, type_code: str | None, names: Iterable[str]) -> str:
        """Fields in words: ``Name, ID number, Photo (SHA-256)``."""
        return ("、" if self.chinese else ", ").join(self.field_label(type_code, n) for n in names)

    def day(self, value: date | str | None) -> str:
        """A calendar day as people read it: ``4 Mar 1985``, ``1985年3月4日``."""
        if value is None or value == "":
            return "—"
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            return str(value)
        if self.chinese:
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.day} {day:%b %Y}"

    def when(self, value: datetime | str | None) -> str:
        """A moment in Shanghai time: ``30 Nov 2026, 17:05``, ``2026年11月30日 17:05``."""
        if value is None or value == "":
            return "—"
        if not self.chinese:
            return local_time(value)
        moment = datetime.fromisoformat(local_iso(value))
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"

    def claim_text(self, type_code: str | None, name: str, value: Any) -> str:
        """A licence claim's value as people read it (dates and choices in words)."""
        kind = licence_type(type_code)
        if kind is not None and isinstance(value, str):
            for f in kind.fields:
                if f.name == name and f.type is catalogue.FieldType.DATE:
                    return self.day(value)
                if f.name == name and f.type is catalogue.FieldType.CHOICE:
                    return self.t(value)
        if value is None or value == "":
            return "—"
        return str(value)

    def type_name(self, code: str | None) -> str:
        """A licence type's name in this language (its code when unknown)."""
        kind = licence_type(code)
        if kind is None:
            return code or "—"
        # As on the licence itself: the Chinese name, with its English one for English readers.
        return kind.name if self.chinese else f"{kind.name} {kind.name_en}"

    def region(self, places: Places, code: str | None) -> str:
        """A region by its name in this language: ``Jiangsu``, ``江苏省``."""
        region = places.regions.get(code or "")
        if region is None:
            return code or self.t(N_("unknown region"))
        return region.name if self.chinese else region.name_en

    def issuer(self, places: Places, code: str | None) -> str:
        """An issuing department by name: ``上海市公安局`` (and its English name in English)."""
        department = places.department(code)
        if department is None:
            return code or self.t(N_("unknown issuer"))
        # The official name is the Chinese one: English readers get it with its translation.
        return department.name if self.chinese else f"{department.name} {department.name_en}"

    def status_label(self, status: str) -> str:
        """A licence status in words."""
        return self.t(STATUS_LABELS[status]) if status in STATUS_LABELS else status

    def action_label(self, action: str) -> str:
        """A change in a licence's history in words."""
        return self.t(ACTION_LABELS[action]) if action in ACTION_LABELS else action

    def trust_state(self, state: str) -> str:
        """The state of a recognised region's list in words."""
        return self.t(TRUST_STATES[state]) if state in TRUST_STATES else state

    def step_words(self, verdict: CredentialVerdict) -> tuple[str, str]:
        """The headline and the plain explanation of a failed verdict."""
        step = verdict.step
        if step == "status":
            if verdict.status == "revoked":
                return (
                    self.t(N_("Revoked")),
                    self.t(
                        N_(
                            "The issuer has revoked this licence (or replaced it with a newer "
                            "version). Do not accept it."
                        )
                    ),
                )
            if verdict.status == "suspended":
                return (
                    self.t(N_("Suspended")),
                    self.t(
                        N_(
                            "The issuer has suspended this licence, for example because it was "
                            "reported lost. Do not accept it now."
                        )
                    ),
                )
            return (
                self.t(N_("Status unknown")),
                self.t(N_("Whether the licence is still in force could not be checked.")),
            )
        if step == "prefix" and verdict.named_region:
            return (
                self.t(N_("Region not recognised")),
                self.t(
                    N_("The code is of region %(region)s, whose licences are not recognised here."),
                    region=verdict.named_region,
                ),
            )
        if step in STEP_WORDS:
            headline, explanation = STEP_WORDS[step]
            return self.t(headline), self.t(explanation)
        return step.replace("_", " ").capitalize(), verdict.detail

    def result_text(self, result: str) -> str:
        """A verification result as a clerk's headline: ``valid``, ``revoked or suspended``..."""
        if result == "valid":
            return self.t(N_("valid"))
        if result == "status":
            return self.t(N_("revoked or suspended"))
        if result in STEP_WORDS:
            text = self.t(STEP_WORDS[result][0])
            return text if self.chinese else text.lower()
        return result.replace("_", " ")

    def form_errors(
        self, error: TwonetsError | None, type_code: str | None = None
    ) -> dict[str, str]:
        """Each refused field's message in this language, keyed by the form's field."""
        if error is None:
            return {}
        words: dict[str, str] = {}
        for problem in error.errors:
            text = FIELD_WORDS.get((problem.field, problem.rule)) or FIELD_WORDS.get(
                ("*", problem.rule)
            )
            if text is None:
                words[problem.field] = problem.detail
                continue
            name = problem.field.removeprefix("claims.")
            label = (
                self.t(FORM_LABELS[name])
                if name in FORM_LABELS
                else self.field_label(type_code, name)
            )
            words[problem.field] = self.t(text, reason=problem.detail, label=label)
        return words

    def helpers(self) -> dict[str, Any]:
        """What the licence templates call to put things in words."""
        return {
            "words": self,
            "licence_type": licence_type,
            "field_label": self.field_label,
            "claim_text": self.claim_text,
            "is_hash": is_hash,
            "day": self.day,
            "when": self.when,
            "labels_text": self.labels_text,
            "status_label": self.status_label,
            "action_label": self.action_label,
            "type_name": self.type_name,
            "region_name": self.region,
            "issuer_name": self.issuer,
            "trust_state": self.trust_state,
            "result_text": self.result_text,
        }


def is_hash(type_code: str | None, name: str) -> bool:
    """Whether a field holds a digest (shown shortened, in full on hover)."""
    kind = licence_type(type_code)
    return kind is not None and any(
        f.name == name and f.type is catalogue.FieldType.HASH for f in kind.fields
    )


def page(
    request: Request,
    template: str,
    principal: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a licence page in the shell, with the helpers its templates use."""
    helpers = Words.of(request).helpers()
    return render(request, template, principal, status_code, **helpers, **context)
