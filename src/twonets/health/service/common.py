"""What the use cases of health share: the purpose, the notifiable list, the context."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from twonets.governance.service import Governance
from twonets.health.models import (
    Specialty,
    TrainingKind,
)

PURPOSE = "health.reserve-mobilisation"
RESERVIST_DATASET = "health.reservist"
QUALIFICATION_TYPE = "PQ"  # the licence type of professional qualifications
# How long each training counts as current.
TRAINING_VALIDITY = {
    TrainingKind.INFECTIOUS_DISEASE_TREATMENT: timedelta(days=730),
    TrainingKind.INFECTION_CONTROL: timedelta(days=365),
    TrainingKind.DRILL: timedelta(days=365),
}
# Class A and the class B pathogens managed as class A under the Law on the Prevention and
# Treatment of Infectious Diseases, plus the surveillance-priority respiratory pathogens.
NOTIFIABLE = frozenset(
    {
        "yersinia-pestis",
        "vibrio-cholerae",
        "sars-cov",
        "sars-cov-2",
        "mers-cov",
        "influenza-a-h5n1",
        "influenza-a-h7n9",
        "bacillus-anthracis",
        "poliovirus",
    }
)
NEGATIVE = "negative"
LAB_FUNCTION = "health-lab"
PATHOGEN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_MOBILISATION_LINES = 200


@dataclass
class HealthContext:
    """What health's use cases need besides a session: governance and the notifiable list."""

    gov: Governance
    notifiable: frozenset[str] = NOTIFIABLE
    plan_cache: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)


def _specialty_choices() -> str:
    return "one of " + ", ".join(s.value for s in Specialty)
