"""What a gate is told of a scan: the reason, the action, the verdict shown, the repeat.

Every outcome carries a ``Reason`` (why) and an ``Action`` (admit, check or refuse), so that
a page or a scanner app chooses its words and colours without reading the detail text. The
decision on a genuine code given its earlier sightings lives here too (``decided``): a
sighting at another place within the replay window makes a replay, one at the same
checkpoint with the same result a repeat (told with the first scan's time, not recorded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from twonets.codes import token
from twonets.codes.context import Coding, ScenarioRule
from twonets.core.errors import Forbidden


class Reason(StrEnum):
    """Why a gate admits or not: one per thing a gatekeeper must know."""

    ADMIT = "admit"
    HEALTH_RED = "health_red"
    HEALTH_YELLOW = "health_yellow"
    # Genuine, but its status allows no entry (a status other than valid, or a health colour).
    NOT_ALLOWED = "not_allowed"
    # The code is for a scenario this gate does not check (the scanner learns nothing more).
    WRONG_SCENARIO = "wrong_scenario"
    NOT_IN_USE = "not_in_use"
    REVOKED = "revoked"
    UNKNOWN_HOLDER = "unknown_holder"
    REPLAY = "replay"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    FORGED = "forged"
    UNTRUSTED = "untrusted"
    DAMAGED = "damaged"
    NOT_A_CODE = "not_a_code"
    # The holder's region runs its own deployment, and its list of revoked holders kept here
    # has gone stale (that region unreachable): whether the code was withdrawn is unknown.
    UNCHECKED = "unchecked"


class Action(StrEnum):
    """What the gatekeeper does: admit (green), check first (amber), refuse (red)."""

    ADMIT = "admit"
    CHECK = "check"
    REFUSE = "refuse"


# Amber where the holder may well be entitled and the gatekeeper can put it right on the
# spot (a fresh code, the right code, a test result, a steadier scan); red where the code
# itself says no or cannot be trusted.
ACTIONS: dict[Reason, Action] = {
    Reason.ADMIT: Action.ADMIT,
    Reason.HEALTH_RED: Action.REFUSE,
    Reason.HEALTH_YELLOW: Action.CHECK,
    Reason.NOT_ALLOWED: Action.REFUSE,
    Reason.WRONG_SCENARIO: Action.CHECK,
    Reason.NOT_IN_USE: Action.CHECK,
    Reason.REVOKED: Action.REFUSE,
    Reason.UNKNOWN_HOLDER: Action.REFUSE,
    Reason.REPLAY: Action.CHECK,
    Reason.EXPIRED: Action.CHECK,
    Reason.NOT_YET_VALID: Action.CHECK,
    Reason.FORGED: Action.REFUSE,
    Reason.UNTRUSTED: Action.REFUSE,
    Reason.DAMAGED: Action.CHECK,
    Reason.NOT_A_CODE: Action.CHECK,
    Reason.UNCHECKED: Action.CHECK,
}

# The offline verifier's failed step, as a reason.
STEP_REASONS: dict[str, Reason] = {
    "prefix": Reason.NOT_A_CODE,
    "base45": Reason.DAMAGED,
    "compression": Reason.DAMAGED,
    "cbor": Reason.DAMAGED,
    "kid": Reason.UNTRUSTED,
    "trust": Reason.UNTRUSTED,
    "signature": Reason.FORGED,
    "claims": Reason.NOT_A_CODE,
    "not_yet_valid": Reason.NOT_YET_VALID,
    "expired": Reason.EXPIRED,
}


def action_of(reason: Reason) -> Action:
    """What a gatekeeper does for this reason."""
    return ACTIONS[reason]


class NotThisGate(Forbidden):
    """The scanner's organisation does not check codes of this scenario (403, nothing kept).

    Carries the scenario's name and the scenarios this gate does check, so that the desk
    can say "ask for the right code" in words.
    """

    reason = Reason.WRONG_SCENARIO

    def __init__(self, scenario_name: str, checks: list[str]) -> None:
        what = f"it checks {', '.join(checks)} codes" if checks else "it checks no codes"
        super().__init__(
            f"this account may not scan {scenario_name} codes: {what}",
            extra={
                "reason": Reason.WRONG_SCENARIO.value,
                "action": ACTIONS[Reason.WRONG_SCENARIO].value,
                "scenario_name": scenario_name,
                "checks": checks,
            },
        )
        self.scenario_name = scenario_name
        self.checks = checks


@dataclass(frozen=True)
class Repeat:
    """The earlier scan of the same code at the same checkpoint."""

    scan_id: int
    scanned_at: datetime


@dataclass(frozen=True)
class ScanOutcome:
    """What a scanner sees: the verdict, why, whether to admit, and whether it was recorded."""

    verdict: token.CodeVerdict
    reason: Reason
    admit: bool
    replay: bool
    recorded: bool
    scenario_name: str | None = None
    scan_id: int | None = None
    repeat: Repeat | None = None

    @property
    def action(self) -> Action:
        """What the gatekeeper does: admit, check first, or refuse."""
        return ACTIONS[self.reason]

    def to_json(self) -> dict[str, Any]:
        """The outcome as JSON."""
        return {
            **self.verdict.to_json(),
            "reason": self.reason.value,
            "action": self.action.value,
            "admit": self.admit,
            "replay": self.replay,
            "recorded": self.recorded,
            "scenario_name": self.scenario_name,
            "scan_id": self.scan_id,
            "repeat_of": (
                {
                    "scan_id": self.repeat.scan_id,
                    "scanned_at": self.repeat.scanned_at.isoformat(),
                }
                if self.repeat
                else None
            ),
        }


def invalid(verdict: token.CodeVerdict, step: str, detail: str) -> token.CodeVerdict:
    return token.CodeVerdict(
        False,
        step,
        detail,
        region=verdict.region,
        scenario=verdict.scenario,
        holder_kind=verdict.holder_kind,
        issued_at=verdict.issued_at,
        expires_at=verdict.expires_at,
    )


def refused(verdict: token.CodeVerdict, reason: Reason, step: str, detail: str) -> ScanOutcome:
    return ScanOutcome(
        invalid(verdict, step, detail), reason, admit=False, replay=False, recorded=False
    )


def status_reason(rule: ScenarioRule, status: str | None) -> Reason:
    """Whether a genuine code's status lets its holder in here."""
    if rule.health:
        return {
            "green": Reason.ADMIT,
            "yellow": Reason.HEALTH_YELLOW,
            "red": Reason.HEALTH_RED,
        }.get(status or "", Reason.NOT_ALLOWED)
    return Reason.ADMIT if status == "valid" else Reason.NOT_ALLOWED


def result_of(outcome: ScanOutcome) -> str:
    return _result(replay=outcome.replay, admit=outcome.admit)


def _result(*, replay: bool, admit: bool) -> str:
    """The result a scan is recorded with."""
    return "replayed" if replay else ("admitted" if admit else "refused")


def decided(
    ctx: Coding,
    rule: ScenarioRule,
    verdict: token.CodeVerdict,
    seen: Sequence[Any],
    place_key: str,
    scan_id: int | None,
) -> ScanOutcome:
    """The outcome of a genuine code given its sightings; ``scan_id`` once it is recorded.

    Without ``scan_id``, ``recorded`` says whether the scan is to be recorded: not when it
    repeats the first scan at this checkpoint with the same result.
    """
    replay = any(row.place_key != place_key for row in seen)
    here = next((row for row in seen if row.place_key == place_key), None)
    reason = Reason.REPLAY if replay else status_reason(rule, verdict.status)
    admit = reason is Reason.ADMIT
    disclosed = {k: v for k, v in verdict.disclosed.items() if k in rule.disclosed}
    shown = token.CodeVerdict(
        not replay,
        "replay" if replay else "ok",
        (
            "this code was already scanned at another place within "
            f"{int(ctx.window.total_seconds())} s: it may be a copy; check the holder"
        )
        if replay
        else verdict.detail,
        region=verdict.region,
        scenario=verdict.scenario,
        status=verdict.status if "status" in rule.disclosed or rule.health else None,
        holder_kind=verdict.holder_kind,
        disclosed=disclosed,
        issued_at=verdict.issued_at,
        expires_at=verdict.expires_at,
        in_grace=verdict.in_grace,
    )
    repeat = Repeat(int(here.id), here.scanned_at) if here is not None else None
    # The same holder at the same gate within the code's minute: one entry, told twice.
    told_twice = (
        scan_id is None and here is not None and here.result == _result(replay=replay, admit=admit)
    )
    return ScanOutcome(
        shown,
        reason,
        admit=admit,
        replay=replay,
        recorded=not told_twice,
        scenario_name=rule.name_en,
        scan_id=repeat.scan_id if told_twice and repeat is not None else scan_id,
        repeat=repeat,
    )
