"""Words the health screens share: the specialties of the clinical reserve (translated by
the pages, ``_(label)``)."""

from __future__ import annotations

from twonets.health.models import Specialty
from twonets.web.i18n import N_

SPECIALTY_LABELS = {
    Specialty.INFECTIOUS_DISEASES: N_("Infectious diseases"),
    Specialty.RESPIRATORY: N_("Respiratory"),
    Specialty.CRITICAL_CARE: N_("Critical care"),
    Specialty.EMERGENCY: N_("Emergency"),
    Specialty.NURSING: N_("Nursing"),
    Specialty.INFECTION_CONTROL: N_("Infection control"),
}
