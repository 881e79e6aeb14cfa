"""Enterprise request categories and the routing rules: pure data, no database.

An enterprise request (企业诉求) is sorted into one of these categories. Each names the
function of the department that answers it and the level that answers first: ``district``
sends it to the department of that function in the district where the enterprise is
registered (工商注册地), ``city`` to the city's. Citizen reports of city problems use the
operations centre's management elements instead (their minor category codes, ``E0102``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from twonets.core.errors import Invalid


class Level(StrEnum):
    """Which level of government answers first."""

    CITY = "city"
    DISTRICT = "district"


@dataclass(frozen=True)
class RequestCategory:
    """A kind of enterprise request, who answers it and in how many working days."""

    code: str
    name: str
    name_en: str
    department_function: str
    level: Level
    limit_days: int
    description: str


# Firms the register lists as foreign-invested or listed are served at city level whatever
# the category (the city's one-stop desk for them).
CITY_LEVEL_INDUSTRIES = frozenset({"foreign-invested", "listed"})

# The department that takes a request no rule places: the government services office (the
# 12345 hub), at city level.
FALLBACK_FUNCTION = "government-services"

ENTERPRISE_CATEGORIES: tuple[RequestCategory, ...] = (
    RequestCategory(
        "ent-licence",
        "证照办理",
        "Licences and permits",
        "market-regulation",
        Level.DISTRICT,
        5,
        "Business licences, permits, changes of registration.",
    ),
    RequestCategory(
        "ent-tax",
        "税费服务",
        "Tax and fees",
        "tax",
        Level.DISTRICT,
        5,
        "Invoices, tax returns, refunds, fees.",
    ),
    RequestCategory(
        "ent-labour",
        "用工与社保",
        "Employment and social insurance",
        "social-security",
        Level.DISTRICT,
        5,
        "Hiring, labour contracts, social insurance contributions.",
    ),
    RequestCategory(
        "ent-talent",
        "人才与落户",
        "Talent and residence",
        "social-security",
        Level.CITY,
        10,
        "Residence registration of staff, talent programmes, work permits.",
    ),
    RequestCategory(
        "ent-finance",
        "融资信贷",
        "Financing and credit",
        "finance",
        Level.CITY,
        10,
        "Loans, guarantees, credit for small firms.",
    ),
    RequestCategory(
        "ent-premises",
        "用地与厂房",
        "Land and premises",
        "housing",
        Level.DISTRICT,
        10,
        "Land use, factory and office premises, leases.",
    ),
    RequestCategory(
        "ent-environment",
        "环保审批与排污",
        "Environmental approval",
        "ecology",
        Level.DISTRICT,
        10,
        "Environmental impact approval, discharge permits.",
    ),
    RequestCategory(
        "ent-logistics",
        "物流与通行",
        "Logistics and traffic passes",
        "transport",
        Level.CITY,
        5,
        "Truck passes, loading zones, freight routes.",
    ),
    RequestCategory(
        "ent-utilities",
        "水电气接入",
        "Water, power and gas",
        "public-works",
        Level.DISTRICT,
        5,
        "Connections and supply of water, electricity and gas.",
    ),
    RequestCategory(
        "ent-market",
        "市场秩序与知识产权",
        "Market order and intellectual property",
        "market-regulation",
        Level.CITY,
        10,
        "Unfair competition, counterfeits, patents, marks.",
    ),
    RequestCategory(
        "ent-construction",
        "工程建设审批",
        "Construction approval",
        "urban-management",
        Level.DISTRICT,
        10,
        "Planning and building permits, completion acceptance.",
    ),
    RequestCategory(
        "ent-subsidy",
        "惠企政策兑现",
        "Support policies and subsidies",
        "government-services",
        Level.CITY,
        10,
        "Subsidies, rent relief, support programmes and how to claim them.",
    ),
    RequestCategory(
        "ent-trade",
        "外贸与通关",
        "Foreign trade and customs",
        "commerce",
        Level.CITY,
        5,
        "Customs clearance, export tax rebates, trade fairs.",
    ),
    RequestCategory(
        "ent-safety",
        "安全生产与消防",
        "Work safety and fire",
        "emergency-management",
        Level.DISTRICT,
        5,
        "Work safety inspections, fire acceptance, hazardous goods.",
    ),
)

_BY_CODE = {c.code: c for c in ENTERPRISE_CATEGORIES}


def get_category(code: str, *, field: str = "category") -> RequestCategory:
    """The enterprise category ``code``; ``Invalid`` naming ``field`` otherwise."""
    found = _BY_CODE.get(code)
    if found is None:
        raise Invalid.field(field, "category", f"no enterprise request category {code!r}")
    return found


def is_enterprise_category(code: str) -> bool:
    """Whether ``code`` names an enterprise request category (else a management element)."""
    return code in _BY_CODE


# Management elements that residents do not report: the health early-warning system raises
# public-health events itself.
NOT_REPORTED_BY_RESIDENTS = frozenset({"E0450"})


class Urgency(StrEnum):
    """How urgent the filer says a request is; an urgent one has a shorter limit."""

    NORMAL = "normal"
    URGENT = "urgent"


# Working days an urgent request of each category may take (normal: ``limit_days``).
URGENT_LIMIT_DAYS: dict[str, int] = {
    "ent-licence": 2,
    "ent-tax": 2,
    "ent-labour": 2,
    "ent-talent": 5,
    "ent-finance": 3,
    "ent-premises": 5,
    "ent-environment": 5,
    "ent-logistics": 1,
    "ent-utilities": 1,
    "ent-market": 3,
    "ent-construction": 5,
    "ent-subsidy": 5,
    "ent-trade": 2,
    "ent-safety": 1,
}


def limit_days(code: str, urgency: Urgency | str = Urgency.NORMAL) -> int:
    """The working days a request of category ``code`` and ``urgency`` may take."""
    category = get_category(code)
    if Urgency(urgency) is Urgency.URGENT:
        return URGENT_LIMIT_DAYS.get(code, max(1, category.limit_days // 2))
    return category.limit_days
