"""Navigation by role: which pages each kind of user finds in the menu."""

from __future__ import annotations

from dataclasses import dataclass

from twonets.core.auth import Principal
from twonets.core.models import Role


@dataclass(frozen=True)
class NavItem:
    """A menu entry shown to accounts holding one of ``roles`` (empty: everyone).

    Administrators see every entry unless ``admin`` is false: a page for holders of
    licences, or for the verifier at a desk, is not an administrator's work.
    """

    label: str
    href: str
    roles: frozenset[Role] = frozenset()
    description: str = ""
    admin: bool = True


STAFF = frozenset({Role.STAFF, Role.OPERATOR, Role.VERIFIER, Role.HEALTH_PLANNER, Role.DPO})

NAV: tuple[NavItem, ...] = (
    NavItem("Home", "/", description="Your start page"),
    NavItem(
        "Districts",
        "/districts",
        description="The 16 districts of the city with their census populations",
    ),
    NavItem(
        "Identifier check",
        "/ids",
        description="Check resident ID numbers and unified social credit codes",
    ),
    NavItem(
        "Departments",
        "/departments",
        STAFF | {Role.ADMIN},
        "Departments by level and function",
    ),
    NavItem(
        "My data",
        "/my-data",
        frozenset({Role.CITIZEN, Role.ENTERPRISE}),
        "Who read your data, when and why; a copy of what is held about you",
    ),
    NavItem(
        "My licences",
        "/wallet",
        frozenset({Role.CITIZEN, Role.ENTERPRISE}),
        "Your electronic licences: show one as a QR code or share only the details asked for",
        admin=False,
    ),
    NavItem(
        "My code",
        "/code",
        frozenset({Role.CITIZEN, Role.ENTERPRISE}),
        "Your rotating code for libraries, schools, venues and health checks; your status and "
        "where it was scanned",
        admin=False,
    ),
    NavItem(
        "Verify a licence",
        "/verify",
        frozenset({Role.VERIFIER, Role.STAFF, Role.OPERATOR}),
        "Check a licence a person shows you: scan or paste its QR code or shared presentation",
        admin=False,
    ),
    NavItem(
        "Scan a code",
        "/code/scan",
        frozenset({Role.VERIFIER, Role.STAFF, Role.OPERATOR, Role.ENTERPRISE}),
        "Check a personal or enterprise code at your gate: only what its scenario discloses",
        admin=False,
    ),
    NavItem(
        "Code statistics",
        "/codes/stats",
        frozenset({Role.STAFF, Role.OPERATOR}),
        "Scans per scenario per day, unique holders, the peak minute",
    ),
    NavItem(
        "Health appeals",
        "/codes/appeals",
        frozenset({Role.STAFF}),
        "Appeals against automated health status, for health staff to decide",
        admin=False,
    ),
    NavItem(
        "Public health",
        "/health",
        frozenset({Role.HEALTH_PLANNER}),
        "Reserve readiness, bed-demand projection, emergency centres, alarms and lab results",
    ),
    NavItem(
        "Trust",
        "/trust",
        STAFF | {Role.ADMIN},
        "The regions whose licences verify here, and how often licences were checked",
    ),
    NavItem(
        "Data governance",
        "/governance",
        frozenset({Role.DPO}),
        "Reads by department and purpose, unusual readers, the ledger, purposes and policies",
    ),
    NavItem(
        "Operations centre",
        "/ops",
        frozenset({Role.OPERATOR, Role.STAFF}),
        "The city map with open cases and layers, the case list and the figures; live",
    ),
    NavItem(
        "Cases to verify",
        "/ops/verification",
        frozenset({Role.SUPERVISOR}),
        "Handled cases waiting for you to check on site: verify them or send them back",
        admin=False,
    ),
    NavItem(
        "My tasks",
        "/ops/tasks",
        frozenset({Role.FIELD}),
        "Cases dispatched to your department: take one on, report it handled with photos",
        admin=False,
    ),
    NavItem(
        "My call-ups",
        "/health/my-calls",
        frozenset({Role.CITIZEN}),
        "Clinicians in the city's clinical reserve: answer a call-up (accept or refuse)",
        admin=False,
    ),
    NavItem(
        "Report a problem",
        "/ops/report",
        frozenset({Role.CITIZEN}),
        "Tell the city about rubbish, a broken cover or a blocked pavement, and follow it",
        admin=False,
    ),
    NavItem(
        "Devices",
        "/ops/devices",
        frozenset({Role.OPERATOR, Role.FIELD}),
        "Vehicle terminals, meters and the intake's counters",
    ),
    NavItem("API", "/docs", frozenset({Role.ADMIN}), "The OpenAPI description of every route"),
)


def nav_for(principal: Principal | None) -> list[NavItem]:
    """The menu entries this caller may see."""
    if principal is None:
        return [i for i in NAV if not i.roles and i.href != "/"]
    return [i for i in NAV if not i.roles or _sees(principal, i)]


def _sees(principal: Principal, item: NavItem) -> bool:
    if item.admin:
        return principal.has_any(item.roles)
    return bool(principal.roles & item.roles)
