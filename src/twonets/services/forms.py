"""The forms of the services: what an application's form holds, what material may be asked.

A form is data about a process, kept beside its BPMN file's id: each field's name and kind.
Values arrive as text (a page's form) and leave as the values the process's rules compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twonets.core.errors import ProblemList


@dataclass(frozen=True)
class FormField:
    """One field of an application form: ``kind`` is text, integer or yes-no."""

    name: str
    kind: str = "text"
    required: bool = True
    max_length: int = 100


START_FORMS: dict[str, tuple[FormField, ...]] = {
    "nev_plate": (
        FormField("has_residence", "yes-no"),
        FormField("social_insurance_months", "integer"),
        FormField("plates_held", "integer"),
        FormField("charging_point", "yes-no"),
        FormField("vin", max_length=17),
        FormField("vehicle_model"),
    ),
}
# What a department may ask an applicant of each process for (field names of the material).
MATERIALS: dict[str, tuple[str, ...]] = {
    "nev_plate": (
        "charging_point_photo",
        "residence_permit",
        "social_insurance_record",
        "vehicle_invoice",
    ),
}


def start_form(process_id: str) -> tuple[FormField, ...]:
    """The fields an applicant fills for ``process_id`` (none known: an empty form)."""
    return START_FORMS.get(process_id, ())


def parse_form(process_id: str, raw: dict[str, str]) -> dict[str, Any]:
    """The form's values from text; ``Invalid`` names each field that cannot be read."""
    problems = ProblemList()
    out: dict[str, Any] = {}
    for field in start_form(process_id):
        text = raw.get(field.name, "").strip()
        where = f"data.{field.name}"
        if field.kind == "yes-no":
            out[field.name] = text in {"on", "yes", "true", "1"}
        elif not text:
            if field.required:
                problems.add(where, "required", "is required")
        elif field.kind == "integer":
            try:
                value = int(text)
            except ValueError:
                problems.add(where, "integer", "should be a whole number")
                continue
            if value < 0 or value > 1000:
                problems.add(where, "range", "should be between 0 and 1000")
                continue
            out[field.name] = value
        elif len(text) > field.max_length:
            problems.add(where, "length", f"should be at most {field.max_length} characters")
        else:
            out[field.name] = text
    problems.raise_if_any()
    return out
