"""Navigation by role: which pages each kind of user finds in the menu, their work first.

The menu is short enough to fit one line at 1366 pixels: each account sees its own work
(``primary`` entries, at most ``MAX_PRIMARY``) and finds the rest under "More". An entry is
shown to an account that holds one of its roles (administrators hold only their own role:
administration is not everyone's work) and, where an entry names a ``when`` test, passes it.
Every entry an account sees must open for it: tests/e2e/test_every_page.py opens them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from twonets.core.auth import Principal
from twonets.core.models import Role
from twonets.licences import catalogue
from twonets.operations.bikes.service import authority as bike_authority
from twonets.requests import categories as request_categories
from twonets.web.i18n import N_

MAX_PRIMARY = 5


@dataclass(frozen=True)
class NavItem:
    """A menu entry for accounts holding one of ``roles`` (empty: everyone, logged in or not)."""

    label: str
    href: str
    roles: frozenset[Role] = frozenset()
    description: str = ""
    primary: bool = False
    when: Callable[[Principal], bool] | None = None


@cache
def _issuing_functions() -> frozenset[str]:
    return frozenset(t.issuer_function for t in catalogue.TYPES)


def _issues_licences(principal: Principal) -> bool:
    return principal.department_function in _issuing_functions()


def _works_housing(principal: Principal) -> bool:
    return principal.department_function == "housing"


def _keeps_policy_answers(principal: Principal) -> bool:
    return principal.department_function == request_categories.FALLBACK_FUNCTION


def _follows_requests(principal: Principal) -> bool:
    return Role.OPERATOR in principal.roles or principal.department_id is not None


def _watches_bikes(principal: Principal) -> bool:
    return principal.department_function in bike_authority.SEEING_FUNCTIONS


HOLDERS = frozenset({Role.CITIZEN, Role.ENTERPRISE})
STAFF = frozenset(
    {
        Role.STAFF,
        Role.OPERATOR,
        Role.SUPERVISOR,
        Role.FIELD,
        Role.VERIFIER,
        Role.CODES_AUTHORITY,
        Role.HEALTH_PLANNER,
        Role.DPO,
    }
)

NAV: tuple[NavItem, ...] = (
    # A resident's and an enterprise's own things.
    NavItem(
        N_("My licences"),
        "/wallet",
        HOLDERS,
        N_("Your electronic licences: show one as a QR code or share only the details asked for"),
        primary=True,
    ),
    NavItem(
        N_("My code"),
        "/code",
        HOLDERS,
        N_(
            "Your rotating code for libraries, schools, venues and health checks; your status and "
            "where it was scanned"
        ),
        primary=True,
    ),
    NavItem(
        N_("Report a problem"),
        "/ops/report",
        frozenset({Role.CITIZEN}),
        N_("Tell the city about rubbish, a broken cover or a blocked pavement, and follow it"),
        primary=True,
    ),
    NavItem(
        N_("My requests"),
        "/requests",
        frozenset({Role.ENTERPRISE}),
        N_("Raise a request with the government, talk with the department and confirm its answer"),
        primary=True,
    ),
    # The services' entries are translated from the services' catalogue (web/services/words.py).
    NavItem(
        "One-thing services",
        "/services",
        frozenset({Role.CITIZEN, Role.ENTERPRISE}),
        "Apply once for a service that needs several departments, and follow every step",
        primary=True,
    ),
    # Residents raise requests too, below their first five (their city problems go to Report).
    NavItem(
        N_("My requests"),
        "/requests",
        frozenset({Role.CITIZEN}),
        N_("Raise a request with the government, talk with the department and confirm its answer"),
    ),
    NavItem(
        N_("My data"),
        "/my-data",
        HOLDERS,
        N_("Who read your data, when and why; a copy of what is held about you"),
        primary=True,
    ),
    # The work of staff, by role.
    NavItem(
        N_("Operations centre"),
        "/ops",
        frozenset({Role.OPERATOR}),
        N_("The city map with open cases and layers, the case list and the figures; live"),
        primary=True,
    ),
    NavItem(
        N_("Cases to verify"),
        "/ops/verification",
        frozenset({Role.SUPERVISOR}),
        N_("Handled cases waiting for you to check on site: verify them or send them back"),
        primary=True,
    ),
    NavItem(
        N_("My tasks"),
        "/ops/tasks",
        frozenset({Role.FIELD}),
        N_("Cases dispatched to your department: take one on, report it handled with photos"),
        primary=True,
    ),
    NavItem(
        N_("Devices"),
        "/ops/devices",
        frozenset({Role.OPERATOR, Role.FIELD}),
        N_("Vehicle terminals, meters and the intake's counters"),
        primary=True,
    ),
    NavItem(
        N_("Group rentals"),
        "/ops/rentals",
        frozenset({Role.STAFF}),
        N_("Homes whose water, electricity and gas suggest a group rental, with the reasons"),
        primary=True,
        when=_works_housing,
    ),
    NavItem(
        N_("Muck trucks"),
        "/ops/trucks",
        frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.FIELD}),
        N_("Muck trucks off their permitted route, hours or sites, with their cases, by company"),
    ),
    NavItem(
        N_("Shared bikes"),
        "/ops/bikes",
        frozenset(bike_authority.SEEING_ROLES),
        N_("Bikes parked and rides started by cell and hour, demand forecast, truck moves"),
        when=_watches_bikes,
    ),
    NavItem(
        N_("Public health"),
        "/health",
        frozenset({Role.HEALTH_PLANNER}),
        N_("Reserve readiness, bed-demand projection, emergency centres, alarms and lab results"),
        primary=True,
    ),
    NavItem(
        N_("Health appeals"),
        "/codes/appeals",
        frozenset({Role.CODES_AUTHORITY}),
        N_("Appeals against automated health status, for the health codes authority to decide"),
        primary=True,
    ),
    NavItem(
        N_("Issue licences"),
        "/licences/issue",
        frozenset({Role.STAFF}),
        N_("Issue, amend, suspend and revoke the licences your department issues"),
        primary=True,
        when=_issues_licences,
    ),
    NavItem(
        "Service tasks",
        "/services/tasks",
        frozenset({Role.STAFF, Role.ENTERPRISE}),
        "Steps of applications waiting for your department: claim, complete, ask for material",
        primary=True,
    ),
    # The requests' entries are translated from the requests' catalogue (web/requests/words.py).
    NavItem(
        "Requests to handle",
        "/requests/work",
        frozenset({Role.STAFF}),
        "Requests routed to your department: accept, decline, answer, write to the filer",
        primary=True,
    ),
    NavItem(
        "Requests to dispatch",
        "/requests/dispatch",
        frozenset({Role.OPERATOR}),
        "Requests the classifier was not sure of or every department declined: decide where",
        primary=True,
    ),
    NavItem(
        N_("Verify a licence"),
        "/verify",
        frozenset({Role.VERIFIER, Role.STAFF}),
        N_("Check a licence a person shows you: scan or paste its QR code or shared presentation"),
        primary=True,
    ),
    NavItem(
        N_("Scan a code"),
        "/code/scan",
        frozenset({Role.VERIFIER, Role.ENTERPRISE}),
        N_("Check a personal or enterprise code at your gate: only what its scenario discloses"),
        primary=True,
    ),
    NavItem(
        "Service figures",
        "/services/figures",
        frozenset({Role.STAFF, Role.OPERATOR, Role.SUPERVISOR}),
        "One-thing services by month: contactless rate, handling time, overdue steps",
    ),
    NavItem(
        "Overdue requests",
        "/requests/overdue",
        frozenset({Role.STAFF, Role.OPERATOR}),
        "Requests past their time limit, the department holding each and the level it reached",
        when=_follows_requests,
    ),
    NavItem(
        "Policy answers",
        "/requests/answers",
        frozenset({Role.STAFF}),
        "The knowledge base that answers standing questions at once: search, add, change, retire",
        when=_keeps_policy_answers,
    ),
    NavItem(
        "Request figures",
        "/requests/figures",
        frozenset({Role.OPERATOR, Role.SUPERVISOR}),
        "Requests by category, district and department; on time, handling time, satisfaction",
    ),
    NavItem(
        N_("Code statistics"),
        "/codes/stats",
        frozenset({Role.CODES_AUTHORITY, Role.OPERATOR}),
        N_("Scans per scenario per day, unique holders, the peak minute"),
    ),
    NavItem(
        N_("Data governance"),
        "/governance",
        frozenset({Role.DPO}),
        N_("Reads by department and purpose, unusual readers, the ledger, purposes and policies"),
        primary=True,
    ),
    # Administration.
    NavItem(
        N_("Accounts"),
        "/accounts",
        frozenset({Role.ADMIN}),
        N_("User names locked after failed logins, addresses refused; lift a lock"),
        primary=True,
    ),
    NavItem(
        N_("Departments"),
        "/departments",
        STAFF | {Role.ADMIN},
        N_("Departments by level and function"),
    ),
    NavItem(
        N_("Trust"),
        "/trust",
        frozenset({Role.ADMIN, Role.STAFF, Role.VERIFIER}),
        N_("The regions whose licences verify here, and how often licences were checked"),
    ),
    # Reference pages anyone may open.
    NavItem(
        N_("Districts"),
        "/districts",
        description=N_("The 16 districts of the city with their census populations"),
    ),
    NavItem(
        N_("Identifier check"),
        "/ids",
        description=N_("Check resident ID numbers and unified social credit codes"),
    ),
    NavItem(N_("API"), "/docs", description=N_("The OpenAPI description of every route")),
)


@dataclass(frozen=True)
class Menu:
    """What the shell shows: the caller's own work, then the rest under "More"."""

    primary: list[NavItem]
    more: list[NavItem]

    def __iter__(self) -> Iterator[NavItem]:
        """Every entry, work first (templates and tests walk the whole menu)."""
        return iter([*self.primary, *self.more])


def sees(principal: Principal | None, item: NavItem) -> bool:
    """Whether the menu shows ``item`` to ``principal``."""
    if principal is None:
        return not item.roles
    if item.roles and not principal.roles & item.roles:
        return False
    return item.when is None or item.when(principal)


def nav_for(principal: Principal | None) -> Menu:
    """The menu entries this caller may see: its own work first, at most ``MAX_PRIMARY``."""
    shown = [item for item in NAV if sees(principal, item)]
    primary = [item for item in shown if item.primary and item.roles][:MAX_PRIMARY]
    more = [item for item in shown if item not in primary]
    return Menu(primary=primary, more=more)
