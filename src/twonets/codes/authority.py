"""Who decides about a scenario's holders: the codes authority of the scenario's function.

Each scenario names its authority, a department function (``Scenario.authority``: ``health``
for the health status, ``culture`` for library entry, ``police`` for identity checks). Only
an account holding ``Role.CODES_AUTHORITY`` in a department of that function, in the
holder's region, revokes or restores a holder's codes for that scenario; appeals against
health colours go to the authority of the health scenario. Administrators edit scenarios,
including who their authority is; they do not decide about holders, so no role but
``CODES_AUTHORITY`` passes here.

Part of the service layer (``service.holders`` and ``service.health`` call it); it sits beside them
so that both can import it without importing each other.
"""

from __future__ import annotations

from twonets.core.auth import Principal
from twonets.core.errors import Forbidden
from twonets.core.models import Role
from twonets.core.places import get_region


def region_name(code: str) -> str:
    """A region as people name it (``Jiangsu``), or its code when it is not a known region."""
    try:
        return get_region(code).name_en
    except KeyError:
        return code


def is_authority(principal: Principal, *, authority: str, region: str) -> bool:
    """Whether the principal is a codes authority of this function in this region."""
    return (
        Role.CODES_AUTHORITY in principal.roles
        and principal.department_function == authority
        and principal.region_code == region
    )


def require_authority(
    principal: Principal, *, authority: str, scenario_name: str, region: str
) -> None:
    """Raise ``Forbidden`` unless the principal decides about this scenario in this region."""
    # Membership, not Principal.require: no other role (administrator included) stands in.
    if Role.CODES_AUTHORITY not in principal.roles:
        raise Forbidden(
            f"only the codes authority of {scenario_name} codes decides this "
            "(the codes_authority role in a department of its function)"
        )
    if principal.department_function != authority:
        raise Forbidden(
            f"{scenario_name} codes are decided by the codes authority of a {authority} "
            f"department; this account's department is "
            f"{principal.department_function or 'none'}"
        )
    if principal.region_code != region:
        raise Forbidden(
            f"this holder is registered in {region_name(region)}: only that region's codes "
            "authority decides about them"
        )
