"""Issuing codes: a holder's rotating code, and the bundle an offline verifier checks it with.

A code is signed for one scenario and one rotation; it carries the holder's pseudonymous
token and only the fields its scenario discloses. A code revoked for its scenario (or for
identity) is not signed: ``CodeWithheld`` says who withdrew it and why.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.codes import token
from twonets.codes.context import Coding
from twonets.codes.scenarios import IDENTITY, HolderKind
from twonets.codes.service.health import health_status
from twonets.codes.service.holders import (
    CodeWithheld,
    ensure_holder,
    holder_of,
    revocation_views,
    revocations_in_force,
)
from twonets.codes.service.scenarios import get_scenario
from twonets.core.auth import Principal
from twonets.core.errors import Invalid
from twonets.core.models import Citizen, Enterprise
from twonets.trust import service as trust


@dataclass(frozen=True)
class IssuedCode:
    """A freshly signed code and what the holder's page shows beside it."""

    text: str
    scenario: str
    scenario_name: str
    status: str
    explanation: str
    issued_at: datetime
    expires_at: datetime
    refresh_seconds: int
    disclosed: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The issued code as JSON."""
        return {
            "text": self.text,
            "scenario": self.scenario,
            "scenario_name": self.scenario_name,
            "status": self.status,
            "explanation": self.explanation,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "refresh_seconds": self.refresh_seconds,
            "disclosed": dict(self.disclosed),
        }


def _age_band(birth: date, today: date) -> str:
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return "under 18" if age < 18 else ("60+" if age >= 60 else "18-59")


def _disclosed_values(
    session: Session,
    kind: str,
    holder_id: int,
    fields: Sequence[str],
    *,
    status: str,
    job_posting: str | None,
    now: datetime,
) -> dict[str, str]:
    values: dict[str, str] = {}
    if kind == HolderKind.CITIZEN:
        person = session.execute(
            select(Citizen.name, Citizen.id_number, Citizen.birth_date).where(
                Citizen.id == holder_id
            )
        ).one()  # governance: the holder's own details, signed into the holder's own code
        candidates = {
            "name_initial": person.name[:1],
            "name": person.name,
            "id_tail": person.id_number[-4:],
            "age_band": _age_band(person.birth_date, now.date()),
        }
    else:
        firm = session.execute(
            select(Enterprise.name, Enterprise.credit_code).where(Enterprise.id == holder_id)
        ).one()
        candidates = {"enterprise_name": firm.name, "credit_code": firm.credit_code}
        if job_posting:
            candidates["job_posting"] = job_posting
    candidates["status"] = status
    for name in fields:
        if name in candidates:
            values[name] = candidates[name]
    return values


def issue_code(
    session: Session,
    ctx: Coding,
    principal: Principal,
    *,
    scenario: str,
    now: datetime,
    job_posting: str | None = None,
) -> IssuedCode:
    """Sign a new code of the caller for a scenario: valid one rotation, status as of now.

    A code revoked for this scenario (or for identity) is not signed: ``CodeWithheld`` says
    who withdrew it and why.
    """
    kind, holder_id = holder_of(principal)
    rule = ctx.scenarios(session, now).get(scenario)
    if rule is None:
        get_scenario(session, scenario)  # raises NotFound naming the known ones
        ctx._scenarios = None
        rule = ctx.scenarios(session, now)[scenario]
    if not rule.active:
        raise Invalid.field("scenario", "active", f"scenario {scenario} is not in use")
    if kind not in rule.holder_kinds:
        raise Invalid.field(
            "scenario",
            "holder-kind",
            f"a{'n' if kind == 'enterprise' else ''} {kind} cannot hold a {scenario} code "
            f"(holders: {', '.join(sorted(rule.holder_kinds))})",
        )
    if job_posting is not None and len(job_posting) > 200:
        raise Invalid.field("job_posting", "max-length", "should be at most 200 characters")
    holder = ensure_holder(session, ctx, kind=kind, holder_id=holder_id, now=now)
    withheld = revocations_in_force(session, holder.id, [scenario, IDENTITY])
    if withheld:
        raise CodeWithheld(revocation_views(session, withheld)[0])
    if rule.health:
        if kind != HolderKind.CITIZEN:
            raise Invalid.field("scenario", "holder-kind", "only residents have a health status")
        assessment = health_status(session, ctx, citizen_id=holder_id, now=now)
        status, explanation = assessment.colour.value, assessment.explanation()
    else:
        status, explanation = "valid", "Your code is valid."
    claims = token.CodeClaims(
        token=token.token_bytes(holder.token),
        holder_kind=kind,
        scenario=scenario,
        status=status,
        nonce=secrets.token_bytes(token.NONCE_BYTES),
        disclosed=_disclosed_values(
            session,
            kind,
            holder_id,
            rule.disclosed,
            status=status,
            job_posting=job_posting,
            now=now,
        ),
    )
    # Whole seconds: iat and exp are NumericDates, and the page counts down from them. The
    # key is chosen at that second too: a verifier checks the key's window against iat.
    issued = now.replace(microsecond=0)
    # A holder's codes are signed in the region that registered the holder.
    key = ctx.signing_key(session, holder.region_code, issued)
    assert key.private_key is not None
    text = token.encode_code(
        claims,
        region=holder.region_code,
        private_key=key.private_key,  # type: ignore[arg-type]
        kid=key.kid,
        issued_at=issued,
        rotation=ctx.rotation,
    )
    return IssuedCode(
        text=text,
        scenario=scenario,
        scenario_name=rule.name_en,
        status=status,
        explanation=explanation,
        issued_at=issued,
        expires_at=issued + ctx.rotation,
        refresh_seconds=int(ctx.rotation.total_seconds()),
        disclosed=claims.disclosed,
    )


def trust_bundle(session: Session, *, now: datetime) -> dict[str, Any]:
    """What an offline verifier of codes needs: every recognised region's anchor and list.

    The same format as the licences' bundle (without status lists: a code lives a minute),
    so one file serves both commands.
    """
    return {
        "format": "twonets-trust-bundle",
        "version": 1,
        "generated_at": now.isoformat(),
        "regions": [
            {
                "region": record.region_code,
                "kind": record.kind,
                "anchor": record.anchor_pem,
                "trust_list": record.trust_list,
            }
            for record in trust.list_recognised(session)
        ],
        "status_lists": {},
    }
