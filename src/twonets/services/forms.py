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
    """One field of an application form: ``kind`` is text, integer, number or yes-no."""

    name: str
    kind: str = "text"
    required: bool = True
    max_length: int = 100
    # The largest value of an integer or a number.
    maximum: float = 1000


START_FORMS: dict[str, tuple[FormField, ...]] = {
    "nev_plate": (
        FormField("has_residence", "yes-no"),
        FormField("social_insurance_months", "integer"),
        FormField("plates_held", "integer"),
        FormField("charging_point", "yes-no"),
        FormField("vin", max_length=17),
        FormField("vehicle_model"),
    ),
    "retirement": (
        FormField("employer_credit_code", max_length=18),
        # Held in the residence register: prefilled with consent.
        FormField("birth_date", max_length=10),
        FormField("contribution_years_city", "integer", maximum=60),
        FormField("contribution_years_delta", "integer", maximum=60),
        FormField("indexed_wage", "number", maximum=3),
        FormField("account_balance", "number", maximum=10_000_000),
    ),
    "tax_and_fees": (
        FormField("vat_sales", "number", maximum=10_000_000_000),
        FormField("input_vat", "number", maximum=10_000_000_000),
        FormField("payroll", "number", maximum=10_000_000_000),
    ),
}
# Values a process needs that the city publishes (no applicant types them).
PUBLISHED: dict[str, dict[str, Any]] = {
    # The city's average monthly wage of the last year, the pension's base (yuan).
    "retirement": {"average_wage": 12183},
}
# What the applicant's page shows as the result of each process (data keys, in order).
RESULTS: dict[str, tuple[str, ...]] = {
    "retirement": ("years", "basic_pension", "account_pension", "monthly_pension"),
    "tax_and_fees": (
        "vat_due",
        "social_insurance_due",
        "housing_fund_due",
        "total_due",
        "paid_amount",
        "payment_transaction",
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
    "retirement": ("employment_record", "delta_contribution_record", "household_register"),
    "tax_and_fees": ("sales_ledger", "payroll_register", "input_invoices"),
}


_KIND_WORDS = {"integer": "whole number", "number": "number"}


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
        elif field.kind in ("integer", "number"):
            try:
                value: float = int(text) if field.kind == "integer" else float(text)
            except ValueError:
                problems.add(where, field.kind, f"should be a {_KIND_WORDS[field.kind]}")
                continue
            if not 0 <= value <= field.maximum:
                problems.add(where, "range", f"should be between 0 and {field.maximum:g}")
                continue
            out[field.name] = value
        elif len(text) > field.max_length:
            problems.add(where, "length", f"should be at most {field.max_length} characters")
        else:
            out[field.name] = text
    problems.raise_if_any()
    return {**out, **PUBLISHED.get(process_id, {})}


# Fields of department steps' forms that the process computes with (text elsewhere).
STEP_FIELDS: dict[str, FormField] = {
    f.name: f
    for f in (
        FormField("contribution_years_city", "integer", maximum=60),
        FormField("contribution_years_delta", "integer", maximum=60),
        FormField("fund_withdrawn", "number", maximum=10_000_000),
    )
}


def parse_step(raw: dict[str, str]) -> dict[str, Any]:
    """A step's form from text: numbers where the process computes with them."""
    problems = ProblemList()
    out: dict[str, Any] = {}
    for name, text in raw.items():
        field = STEP_FIELDS.get(name)
        if field is None or not text.strip():
            out[name] = text
            continue
        try:
            value: float = int(text) if field.kind == "integer" else float(text)
        except ValueError:
            problems.add(f"data.{name}", field.kind, f"should be a {_KIND_WORDS[field.kind]}")
            continue
        if not 0 <= value <= field.maximum:
            problems.add(f"data.{name}", "range", f"should be between 0 and {field.maximum:g}")
            continue
        out[name] = value
    problems.raise_if_any()
    return out
