"""Codes on a real database: rotation, grace, replay, revocation, scanners, status, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from codes.world import ROOT, T, World
from twonets.codes import service
from twonets.codes.models import ScanRecord
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden, Invalid, NotFound
from twonets.trust import service as trust


def _code(world: World, holder: Principal, scenario: str = "library", *, at=T, ctx=None) -> str:  # type: ignore[no-untyped-def]
    with world.session() as session:
        return service.issue_code(session, ctx or world.ctx, holder, scenario=scenario, now=at).text


def _scan(world: World, scanner: Principal, text: str, *, place: str = "east gate", at=T):  # type: ignore[no-untyped-def]
    with world.session() as session:
        return service.scan(session, world.ctx, scanner, text=text, place=place, now=at)


def _scans(world: World) -> int:
    with world.session() as session:
        return int(session.scalar(select(func.count()).select_from(ScanRecord)) or 0)


def test_a_fresh_code_is_admitted_and_shows_only_what_the_scenario_discloses(world: World) -> None:
    outcome = _scan(world, world.library, _code(world, world.resident))
    assert outcome.verdict.valid
    assert outcome.admit
    assert outcome.verdict.disclosed == {"status": "valid", "name_initial": "王"}
    assert outcome.recorded
    assert _scans(world) == 1


def test_the_code_carries_no_id_number_and_a_stable_pseudonym(world: World) -> None:
    first = _code(world, world.resident)
    second = _code(world, world.resident, at=T + timedelta(seconds=61))
    assert first != second
    one = _scan(world, world.library, first)
    two = _scan(world, world.library, second, at=T + timedelta(seconds=62))
    assert world.resident_id_number not in str(one.to_json())
    with world.session() as session:
        tokens = set(session.scalars(select(ScanRecord.holder_token)))
    assert len(tokens) == 1
    assert one.verdict.valid
    assert two.verdict.valid


def test_a_code_is_accepted_in_the_grace_window_and_refused_after_it(world: World) -> None:
    text = _code(world, world.resident)
    late = _scan(world, world.library, text, at=T + timedelta(seconds=75))
    assert late.verdict.valid
    assert late.verdict.in_grace
    expired = _scan(world, world.library, text, at=T + timedelta(seconds=60 + 30))
    assert not expired.verdict.valid
    assert expired.verdict.step == "expired"
    assert not expired.recorded
    assert _scans(world) == 1


def test_rotation_is_configurable(world: World) -> None:
    world.ctx.rotation = timedelta(seconds=20)
    world.ctx.grace = timedelta(seconds=5)
    text = _code(world, world.resident)
    assert _scan(world, world.library, text, at=T + timedelta(seconds=24)).verdict.valid
    assert _scan(world, world.library, text, at=T + timedelta(seconds=26)).verdict.step == "expired"


def test_a_forged_signature_fails_at_signature(world: World) -> None:
    text = _code(world, world.resident)
    with world.session() as session:
        # Re-sign the same claims with a key no region lists: a forger's key.
        from cryptography.hazmat.primitives.asymmetric import ec

        from twonets.codes import token

        verdict = token.verify_code(
            text, store=world.ctx.trust_store(session, T), at=T, grace=world.ctx.grace
        )
        assert verdict.valid
        forged_key = ec.generate_private_key(ec.SECP256R1())
        key = world.ctx.signing_key(session, "SH", T)
        claims = token.CodeClaims(
            token=bytes(16),
            holder_kind="citizen",
            scenario="library",
            status="valid",
            nonce=bytes(8),
            disclosed={"status": "valid"},
        )
        forged = token.encode_code(
            claims,
            region="SH",
            private_key=forged_key,
            kid=key.kid,
            issued_at=T,
            rotation=timedelta(seconds=60),
        )
    outcome = _scan(world, world.library, forged)
    assert not outcome.verdict.valid
    assert outcome.verdict.step == "signature"
    assert _scans(world) == 0


def test_the_same_code_at_two_venues_is_flagged_as_a_replay(world: World) -> None:
    text = _code(world, world.resident)
    first = _scan(world, world.library, text, place="Pudong Library, north gate")
    again_same_place = _scan(
        world, world.library, text, place="pudong library,  North gate", at=T + timedelta(seconds=5)
    )
    elsewhere = _scan(
        world, world.library, text, place="Xujiahui Library", at=T + timedelta(seconds=20)
    )
    assert first.admit
    assert not first.replay
    assert again_same_place.admit
    assert not again_same_place.replay
    assert elsewhere.replay
    assert not elsewhere.admit
    assert elsewhere.verdict.step == "replay"
    assert elsewhere.reason is service.Reason.REPLAY
    with world.session() as session:
        results = sorted(session.scalars(select(ScanRecord.result)))
    # The second scan at the same gate is a repeat of the first entry, not a second one.
    assert results == ["admitted", "replayed"]


def test_a_revoked_holder_is_refused_at_once_and_can_be_restored(world: World) -> None:
    text = _code(world, world.resident)
    with world.session() as session:
        service.set_holder_status(
            session,
            world.ctx,
            world.culture_authority,
            scenario="library",
            id_number=world.resident_id_number,
            revoke=True,
            reason="library card used by someone else",
            now=T,
        )
    outcome = _scan(world, world.library, text, at=T + timedelta(seconds=1))
    assert not outcome.verdict.valid
    assert outcome.verdict.step == "revoked"
    assert outcome.reason is service.Reason.REVOKED
    assert outcome.action is service.Action.REFUSE
    assert not outcome.recorded
    with world.session() as session, pytest.raises(Conflict, match="used by someone else"):
        service.issue_code(session, world.ctx, world.resident, scenario="library", now=T)
    # Only the library code is withdrawn: the health code still verifies.
    assert _scan(world, world.checkpoint, _code(world, world.resident, "health")).admit
    with world.session() as session:
        service.set_holder_status(
            session,
            world.ctx,
            world.culture_authority,
            scenario="library",
            id_number=world.resident_id_number,
            revoke=False,
            reason="card replaced at the reader services desk",
            now=T,
        )
    assert _scan(world, world.library, _code(world, world.resident), place="north gate").admit


def test_a_scanner_the_scenario_does_not_name_learns_nothing(world: World) -> None:
    text = _code(world, world.resident, "health")
    with pytest.raises(Forbidden, match="may not scan Health status codes"):
        _scan(world, world.library, text)
    assert _scans(world) == 0
    assert _scan(world, world.checkpoint, text).verdict.valid


def test_a_status_change_shows_at_the_next_rotation(world: World) -> None:
    before = _code(world, world.resident, "health")
    with world.session() as session:
        service.record_health_fact(
            session,
            world.ctx,
            world.health_staff,
            id_number=world.resident_id_number,
            kind="contact",
            value="close",
            observed_at=T - timedelta(days=1),
            now=T,
        )
    shown = _scan(world, world.checkpoint, before, at=T + timedelta(seconds=10))
    assert shown.verdict.status == "green"  # the code in hand was signed before the report
    after = _code(world, world.resident, "health", at=T + timedelta(seconds=60))
    rescanned = _scan(world, world.checkpoint, after, at=T + timedelta(seconds=61))
    assert rescanned.verdict.status == "red"
    assert not rescanned.admit
    assert rescanned.verdict.valid  # the code is authentic; the colour says stay out


def test_an_appeal_is_decided_by_the_health_codes_authority_and_recorded(world: World) -> None:
    with world.session() as session:
        service.record_health_fact(
            session,
            world.ctx,
            world.health_staff,
            id_number=world.resident_id_number,
            kind="travel",
            value="an area now closed",
            observed_at=T - timedelta(days=2),
            now=T,
        )
        mine = service.my_health(session, world.ctx, world.resident, now=T)
    assert mine["colour"] == "yellow"
    assert "Returned from an area now closed" in mine["reasons"][0]
    with world.session() as session:
        appeal = service.file_appeal(
            session,
            world.ctx,
            world.resident,
            statement="I was never there: my phone was lent to my brother.",
            now=T,
        )
        with pytest.raises(Conflict, match="still pending"):
            service.file_appeal(session, world.ctx, world.resident, statement="x" * 20, now=T)
    with world.session() as session:
        queue = service.list_appeals(
            session, world.ctx, world.health_authority, status="pending", now=T
        )
    assert [row["subject_id"] for row in queue] == [world.resident.citizen_id]
    assert queue[0]["colour_at_filing"] == "yellow"
    with world.session() as session, pytest.raises(Forbidden):
        service.decide_appeal(
            session,
            world.ctx,
            world.library,
            appeal_id=appeal.id,
            uphold=True,
            colour="green",
            reason="x",
            now=T,
        )
    with world.session() as session:
        service.decide_appeal(
            session,
            world.ctx,
            world.health_authority,
            appeal_id=appeal.id,
            uphold=True,
            colour="green",
            reason="travel record belonged to another person",
            now=T + timedelta(minutes=5),
        )
        mine = service.my_health(session, world.ctx, world.resident, now=T + timedelta(minutes=6))
    assert mine["colour"] == "green"
    assert mine["appeals"][0]["status"] == "upheld"
    assert "another person" in mine["reasons"][0]
    code = _code(world, world.resident, "health", at=T + timedelta(minutes=6))
    assert _scan(world, world.checkpoint, code, at=T + timedelta(minutes=6)).admit


def test_retention_deletes_scans_past_their_scenario_retention(world: World) -> None:
    old = T - timedelta(days=40)
    _scan(world, world.library, _code(world, world.resident, at=old), at=old)  # kept 30 days
    _scan(world, world.library, _code(world, world.resident, at=T), at=T)
    health_old = T - timedelta(days=20)
    _scan(
        world, world.checkpoint, _code(world, world.other, "health", at=health_old), at=health_old
    )
    with world.session() as session:
        assert service.purge_scans(session, now=T) == 1
    with world.session() as session:
        left = sorted(session.scalars(select(ScanRecord.scenario_code)))
        assert service.purge_scans(session, now=T) == 0
    assert left == ["health", "library"]
    with world.session() as session:
        assert service.purge_scans(session, now=T + timedelta(days=9)) == 1  # the 28-day one


def test_a_jiangsu_code_verifies_at_a_shanghai_venue_while_shanghai_trusts_jiangsu(
    world: World,
) -> None:
    text = _code(world, world.js_resident, ctx=world.js_ctx)
    assert text.startswith("JSC1:")
    outcome = _scan(world, world.library, text)
    assert outcome.verdict.valid
    assert outcome.verdict.region == "JS"
    with world.session() as session:
        trust.drop_region(session, region="JS")
    world.ctx.forget()
    dropped = _scan(world, world.library, text, at=T + timedelta(seconds=1))
    assert not dropped.verdict.valid
    assert dropped.verdict.step in {"prefix", "trust"}


def test_the_holder_sees_where_their_code_was_scanned(world: World) -> None:
    _scan(world, world.library, _code(world, world.resident), place="Shanghai Library, east gate")
    with world.session() as session:
        mine = service.my_scans(session, world.ctx, world.resident, now=T)
        others = service.my_scans(session, world.ctx, world.other, now=T)
    assert [(m["place"], m["verifier"], m["scenario"]) for m in mine] == [
        ("Shanghai Library, east gate", "sh.culture", "library")
    ]
    assert others == []
    with world.session() as session:
        stored = session.scalar(select(ScanRecord.place))
    assert stored is not None
    assert "Library" not in stored  # sealed at rest


def test_an_enterprise_code_is_scanned_by_a_graduate(world: World) -> None:
    with world.session() as session:
        issued = service.issue_code(
            session,
            world.ctx,
            world.firm,
            scenario="resume",
            job_posting="Junior data engineer",
            now=T,
        )
    outcome = _scan(world, world.other, issued.text, place="job fair, booth 12")
    assert outcome.admit
    assert outcome.verdict.disclosed["enterprise_name"] == "上海星海科技有限公司"
    assert outcome.verdict.disclosed["job_posting"] == "Junior data engineer"
    with world.session() as session:
        record = session.execute(select(ScanRecord.citizen_id, ScanRecord.enterprise_id)).one()
    assert record.citizen_id == world.other.citizen_id
    assert record.enterprise_id == world.firm.enterprise_id


def test_holders_and_scenarios_must_match(world: World) -> None:
    with world.session() as session:
        with pytest.raises(Invalid, match="cannot hold a resume code"):
            service.issue_code(session, world.ctx, world.resident, scenario="resume", now=T)
        with pytest.raises(NotFound, match="known: "):
            service.issue_code(session, world.ctx, world.resident, scenario="opera", now=T)


def test_scan_input_is_checked_field_by_field(world: World) -> None:
    with world.session() as session, pytest.raises(Invalid) as caught:
        service.scan(session, world.ctx, world.library, text="", place=" ", now=T)
    assert [(e.field, e.rule) for e in caught.value.errors] == [
        ("code", "required"),
        ("place", "required"),
    ]
    garbage = _scan(world, world.library, "SHC1:not base45!")
    assert not garbage.verdict.valid
    assert garbage.verdict.step == "base45"


def test_an_admin_changes_a_scenario_and_scanners_follow(world: World) -> None:
    text = _code(world, world.resident, "sports")
    with pytest.raises(Forbidden):
        _scan(world, world.school, text)
    with world.session() as session:
        with pytest.raises(Invalid) as caught:
            service.put_scenario(
                session,
                world.ctx,
                actor="admin",
                code="sports",
                name="体育场馆",
                name_en="Sports venue",
                holder_kinds=["citizen"],
                disclosed=["shoe_size"],
                verifiers=["nobody.here"],
                purpose_code="missing.purpose",
                retention_days=0,
                authority="astrology",
                health=False,
                active=True,
                now=T,
            )
        fields = {e.field for e in caught.value.errors}
        assert fields == {
            "disclosed",
            "verifiers[0]",
            "retention_days",
            "purpose_code",
            "authority",
        }
    with world.session() as session:
        service.put_scenario(
            session,
            world.ctx,
            actor="admin",
            code="sports",
            name="体育场馆",
            name_en="Sports venue",
            holder_kinds=["citizen"],
            disclosed=["status"],
            verifiers=["sh.education"],
            purpose_code="codes.health-appeal",
            retention_days=14,
            authority="education",
            health=False,
            active=True,
            now=T,
        )
    outcome = _scan(world, world.school, text)
    assert outcome.verdict.disclosed == {"status": "valid"}


def test_statistics_count_scans_holders_and_the_peak_minute(world: World) -> None:
    for i, holder in enumerate((world.resident, world.other, world.resident)):
        at = T + timedelta(seconds=20 * i)
        _scan(world, world.library, _code(world, holder, at=at), at=at, place=f"gate {i}")
    later = T + timedelta(hours=2)
    _scan(world, world.checkpoint, _code(world, world.other, "health", at=later), at=later)
    with world.session() as session:
        stats = service.statistics(session, since=T.date(), until=later.date())
    assert stats["scans"] == 4
    assert stats["unique_holders"] == 2
    assert stats["by_scenario"] == {"health": 1, "library": 3}
    minute_of = [int((T + timedelta(seconds=20 * i)).timestamp()) // 60 for i in range(3)]
    assert stats["peak_per_minute"] == max(minute_of.count(m) for m in minute_of)
    with world.session() as session, pytest.raises(Invalid):
        service.statistics(session, since=T.date(), until=T.date() - timedelta(days=1))


def test_keys_and_tokens_are_the_region_s(world: World) -> None:
    from twonets.codes import token

    one = token.holder_token(ROOT, region="SH", kind="citizen", holder_id=1)
    assert one == token.holder_token(ROOT, region="SH", kind="citizen", holder_id=1)
    assert one != token.holder_token(ROOT, region="JS", kind="citizen", holder_id=1)
    assert one != token.holder_token(ROOT, region="SH", kind="enterprise", holder_id=1)


def test_governance_retention_leaves_scans_to_their_scenarios(world: World) -> None:
    from twonets.governance.reports import run_retention

    old = T - timedelta(days=40)
    _scan(world, world.library, _code(world, world.resident, at=old), at=old)
    with world.session() as session:
        outcomes = run_retention(session, world.gov, actor="retention-job", now=T)
    # codes.scan carries each row's own keep_until (its scenario's retention), which the
    # generic run (one purpose per dataset) does not read: the codes job deletes it.
    assert not [o for o in outcomes if o.dataset.startswith("codes.")]
    assert _scans(world) == 1
    with world.session() as session:
        assert service.purge_scans(session, now=T) == 1
    assert _scans(world) == 0
