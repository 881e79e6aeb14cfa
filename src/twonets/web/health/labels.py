"""Words the health screens share: the specialties of the clinical reserve."""

from __future__ import annotations

from twonets.health.models import Specialty

SPECIALTY_LABELS = {
    Specialty.INFECTIOUS_DISEASES: "Infectious diseases",
    Specialty.RESPIRATORY: "Respiratory",
    Specialty.CRITICAL_CARE: "Critical care",
    Specialty.EMERGENCY: "Emergency",
    Specialty.NURSING: "Nursing",
    Specialty.INFECTION_CONTROL: "Infection control",
}
