"""The scenarios a code starts with, and the fields a scan may disclose (plain data).

Scenarios live in the ``code_scenario`` table; these are the defaults the service writes
when a scenario is missing. An administrator changes them through the API afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HolderKind(StrEnum):
    """Who may hold a code."""

    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"


# Anyone logged in as a resident may scan (e.g. a graduate scanning an employer's code).
ANY_RESIDENT = "citizen"

# The scenario whose revocation withholds every code of the holder: each code vouches for
# who shows it, so when the holder's identity is in doubt (a stolen phone, a fraudulent
# registration) no scenario's code should be honoured.
IDENTITY = "identity"

# What a scan may show, by field: a scenario discloses a subset. The code carries only the
# fields its scenario discloses, so an offline verifier learns nothing more.
DISCLOSABLE: dict[str, str] = {
    "status": "status (health colour, or valid)",
    "name_initial": "first character of the name",
    "name": "full name",
    "id_tail": "last four characters of the ID number",
    "age_band": "age band (under 18, 18-59, 60+)",
    "enterprise_name": "enterprise name",
    "credit_code": "unified social credit code",
    "job_posting": "job posting",
}


@dataclass(frozen=True)
class ScenarioDefault:
    """One scenario as first written."""

    code: str
    name: str
    name_en: str
    holder_kinds: tuple[HolderKind, ...]
    disclosed: tuple[str, ...]
    verifiers: tuple[str, ...]
    purpose_code: str
    retention_days: int
    authority: str
    health: bool = False


DEFAULTS: tuple[ScenarioDefault, ...] = (
    ScenarioDefault(
        "health",
        "健康状态",
        "Health status",
        (HolderKind.CITIZEN,),
        ("status", "name_initial"),
        ("sh.health",),
        "codes.health-scan",
        28,
        "health",
        health=True,
    ),
    ScenarioDefault(
        "library",
        "图书馆入馆",
        "Library entry",
        (HolderKind.CITIZEN,),
        ("status", "name_initial"),
        ("sh.culture",),
        "codes.library-entry",
        30,
        "culture",
    ),
    ScenarioDefault(
        "education",
        "教育入校",
        "Education",
        (HolderKind.CITIZEN,),
        ("status", "name_initial", "age_band"),
        ("sh.education",),
        "codes.education",
        30,
        "education",
    ),
    ScenarioDefault(
        "elderly-care",
        "养老服务",
        "Elderly care",
        (HolderKind.CITIZEN,),
        ("status", "name", "age_band"),
        ("sh.civil",),
        "codes.elderly-care",
        90,
        "civil-affairs",
    ),
    ScenarioDefault(
        "sports",
        "体育场馆",
        "Sports venue",
        (HolderKind.CITIZEN,),
        ("status", "name_initial"),
        (),
        "codes.sports-venue",
        14,
        "culture",
    ),
    ScenarioDefault(
        "resume",
        "投递简历",
        "Résumé delivery",
        (HolderKind.ENTERPRISE,),
        ("status", "enterprise_name", "credit_code", "job_posting"),
        (ANY_RESIDENT,),
        "codes.resume-delivery",
        180,
        "social-security",
    ),
    ScenarioDefault(
        "identity",
        "身份核验",
        "Identity check",
        (HolderKind.CITIZEN, HolderKind.ENTERPRISE),
        ("status", "name", "id_tail", "enterprise_name", "credit_code"),
        ("sh.services",),
        "codes.identity-check",
        30,
        "police",
    ),
)
