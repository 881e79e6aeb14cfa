"""What the codes' screens share: words for colours, results and fields, errors by label.

Texts are written in English and marked with ``N_``; ``Words`` gives a page its language's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from twonets.core.errors import TwonetsError
from twonets.core.places import get_region
from twonets.web import i18n
from twonets.web.i18n import N_

# A health colour: its name, and what it means for the holder.
COLOURS: dict[str, tuple[str, str]] = {
    "green": (N_("Green code"), N_("You may enter places that check health status.")),
    "yellow": (N_("Yellow code"), N_("Some places will ask you to take a test first.")),
    "red": (
        N_("Red code"),
        N_("Stay at home and follow the health department's instructions."),
    ),
}

# Results of a scan and states of an appeal, as badges show them.
STATES: dict[str, str] = {
    "admitted": N_("admitted"),
    "refused": N_("refused"),
    "replayed": N_("flagged as a copy"),
    "pending": N_("pending"),
    "upheld": N_("upheld"),
    "rejected": N_("rejected"),
    "valid": N_("valid"),
}

# What a scan may show, by field (``codes.scenarios.DISCLOSABLE``), in a holder's words.
FIELDS: dict[str, str] = {
    "status": N_("status (health colour, or valid)"),
    "name_initial": N_("first character of the name"),
    "name": N_("full name"),
    "id_tail": N_("last four characters of the ID number"),
    "age_band": N_("age band (under 18, 18-59, 60+)"),
    "enterprise_name": N_("enterprise name"),
    "credit_code": N_("unified social credit code"),
    "job_posting": N_("job posting"),
}

AND = N_(" and ")
# How ``service.my_scans`` names a scan by a resident (a graduate at a job fair).
N_("scanned by a resident")
THIS_FORM = N_("This form")


@dataclass(frozen=True)
class Words:
    """The texts of the codes' pages in one request's language."""

    code: str

    @classmethod
    def of(cls, request: Request) -> Words:
        """The words of the language this request's page is shown in."""
        return cls(i18n.language_of(request).code)

    @property
    def chinese(self) -> bool:
        """Whether the page speaks Chinese (names come from ``name`` rather than ``name_en``)."""
        return self.code == "zh"

    def __call__(self, message: str, **values: Any) -> str:
        """One marked text, translated, with ``%(name)s`` values filled in."""
        text = i18n.translate(self.code, message)
        return text % values if values else text

    def joined(self, names: Iterable[str]) -> str:
        """Names in a run: ``A and B`` (``A、B`` in Chinese)."""
        return self(AND).join(names)

    def region(self, code: str | None) -> str:
        """A region as people name it in this language, or its code when it is unknown."""
        if not code:
            return "—"
        try:
            found = get_region(code)
        except KeyError:
            return code
        return found.name if self.chinese else found.name_en

    def labelled(self, error: TwonetsError | None, labels: Mapping[str, str]) -> list[str]:
        """An error's messages as a form shows them: each field by its label, never its name."""
        if error is None:
            return []
        if not error.errors:
            return [error.detail]
        return [f"{self(labels.get(p.field, THIS_FORM))}: {p.detail}" for p in error.errors]
