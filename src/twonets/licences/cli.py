"""Sub-commands ``twonets licences`` and ``twonets trust``."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.orm import Session

from twonets.core.auth import Principal
from twonets.core.errors import Invalid, TwonetsError
from twonets.licences.status import InvalidStatusListToken, StatusCache
from twonets.licences.verify import StatusLookup, StatusUnavailable, verify_credential
from twonets.trust.keys import kid_text
from twonets.trust.store import TrustStore
from twonets.trust.suites import load_public_key

if TYPE_CHECKING:
    from twonets.licences.service.batches import LicenceItem

licences_app = typer.Typer(
    help="Electronic licences: verify a presented licence offline; a region's delegations."
)
trust_app = typer.Typer(help="Trust: a region's keys and trust lists.")


def _time(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"--at: not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_trust(paths: list[Path], at: datetime) -> tuple[TrustStore, StatusLookup]:
    """A trust store and the status of licences from bundle files (JSON) or PEM certificates."""
    store = TrustStore()
    tokens: dict[str, str] = {}
    for path in paths:
        try:
            _load_one(store, tokens, path, at)
        except TwonetsError as exc:
            raise Invalid(f"{path}: {exc.detail}") from None
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise Invalid(f"{path}: not a usable trust list ({reason})") from None
    return _status_lookup(store, tokens, at)


def _load_one(store: TrustStore, tokens: dict[str, str], path: Path, at: datetime) -> None:
    """Add one trust file (a bundle, a region's signed list, or PEM certificates)."""
    text = path.read_text(encoding="utf-8")
    if "-----BEGIN CERTIFICATE-----" in text:
        # A foreign issuer's signing certificates: recognised as region "XX" unless named.
        region = path.stem.upper()[:2] if path.stem[:2].isalpha() else "XX"
        store.add_pem_region(region, text)
        return
    bundle = json.loads(text)
    if not isinstance(bundle, dict):
        raise Invalid("not a trust bundle, a region's signed trust list, or a PEM file")
    if "anchor" in bundle and "trust_list" in bundle and "format" not in bundle:
        # One region's signed list as GET /api/v1/trust/lists/{region} serves it.
        bundle = {"format": "twonets-trust-bundle", "regions": [bundle]}
    if bundle.get("format") != "twonets-trust-bundle":
        raise Invalid("not a trust bundle, a region's signed trust list, or a PEM file")
    for entry in bundle.get("regions", []):
        if entry.get("kind") == "pem":
            store.add_pem_region(entry["region"], entry["trust_list"])
        else:
            anchor = load_public_key(entry["anchor"].encode("ascii"))
            store.add_region(anchor, entry["trust_list"], at)
    tokens.update(bundle.get("status_lists", {}))


def _status_lookup(
    store: TrustStore, tokens: dict[str, str], at: datetime
) -> tuple[TrustStore, StatusLookup]:
    keys: dict[str, Any] = {
        kid_text(key.kid): key.public_key
        for region in store.regions
        for key in store.trust_list(region).keys
    }
    # The bundle's status tokens are read as any verifier reads status lists: through the
    # cache, each verified once (signature, uri, dates) and held while fresh.
    cache = StatusCache(
        tokens.__getitem__, public_keys=keys, max_age=timedelta(days=1), clock=lambda: at
    )
    stale: dict[str, str] = {}
    for uri in tokens:
        try:
            cache.get_status_list(uri)  # a bad token fails the bundle now, at `trust`
        except InvalidStatusListToken as exc:
            if not exc.errors or exc.errors[0].rule != "expired":
                raise
            # An expired list is no list: its licences get "cannot check revocation".
            stale[uri] = f"the status list {uri} in the bundle went stale ({exc.errors[0].detail})"

    def status_of(uri: str, idx: int) -> int | None:
        if uri in stale:
            raise StatusUnavailable(stale[uri])
        return cache.status_of(uri, idx) if uri in tokens else None

    return store, status_of


@licences_app.command("verify")
def verify(
    credential: Annotated[str, typer.Argument(help="QR text or SD-JWT presentation; - for stdin")],
    trust_list: Annotated[
        list[Path] | None,
        typer.Option("--trust-list", help="trust bundle (JSON) or PEM certificates; repeatable"),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time to verify at")] = None,
    audience: Annotated[str | None, typer.Option(help="expected KB-JWT audience")] = None,
    nonce: Annotated[str | None, typer.Option(help="expected KB-JWT nonce")] = None,
) -> None:
    """Verify a presented licence offline; print a JSON verdict; exit 0 only when valid."""
    moment = _time(at)
    text = sys.stdin.read() if credential == "-" else credential
    paths = trust_list or [Path("var/trust-bundle.json")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        typer.echo(
            json.dumps(
                {"valid": False, "step": "trust", "detail": f"no trust list at {missing[0]}"}
            )
        )
        raise typer.Exit(1)
    try:
        # Trust lists and status lists must be current now; the licence is checked at --at.
        store, status_of = load_trust(paths, datetime.now(UTC))
    except TwonetsError as exc:
        typer.echo(json.dumps({"valid": False, "step": "trust", "detail": exc.detail}))
        raise typer.Exit(1) from None

    verdict = verify_credential(
        text,
        store=store,
        at=moment,
        status_of=status_of,
        audience=audience,
        nonce=nonce,
    )
    typer.echo(json.dumps(verdict.to_json(), ensure_ascii=False))
    raise typer.Exit(0 if verdict.valid else 1)


@licences_app.command("export-trust")
def export_trust(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="where to write the bundle")] = Path(
        "var/trust-bundle.json"
    ),
) -> None:
    """Write the trust bundle an offline verifier needs (regions, lists, status lists)."""
    from twonets.core.config import Settings, resolve_secret_key
    from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
    from twonets.licences import service

    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            bundle = service.trust_bundle(
                session, service.Licensing(resolve_secret_key(settings)), now=utcnow()
            )
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(
        f"wrote {out}: {len(bundle['regions'])} regions, {len(bundle['status_lists'])} status lists"
    )


Admin = Annotated[
    str, typer.Option("--admin", help="user name of the region's administrator acting")
]


def _as_admin(ctx: typer.Context, admin: str, use: Callable[[Session, Principal], str]) -> None:
    """Run ``use`` in one transaction as the named administrator; print what it returns."""
    from twonets.core.config import Settings
    from twonets.core.db import make_engine, make_session_factory, unit_of_work
    from twonets.licences import service

    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            text = use(session, service.administrator(session, admin))
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(text)


@licences_app.command("delegate")
def delegate(
    ctx: typer.Context,
    admin: Admin,
    type_code: Annotated[str, typer.Argument(help="licence type, e.g. DL")],
    issuer: Annotated[str, typer.Argument(help="the issuing department, e.g. sh.police")],
    delegate: Annotated[str, typer.Argument(help="the department named, e.g. sh.traffic")],
    actions: Annotated[
        str, typer.Option(help="comma-separated: amend, suspend, resume, revoke")
    ] = "suspend,resume",
    reason: Annotated[str, typer.Option(help="the policy that names the department")] = "",
) -> None:
    """Name a department of the region that may change another department's licences."""
    from twonets.core.db import utcnow
    from twonets.licences import service

    def use(session: Session, principal: Principal) -> str:
        row = service.delegate_changes(
            session,
            principal,
            type_code=type_code,
            issuer_department=issuer,
            delegate_department=delegate,
            actions=[a.strip() for a in actions.split(",") if a.strip()],
            reason=reason,
            now=utcnow(),
        )
        return json.dumps(service.delegation_json(row), ensure_ascii=False)

    _as_admin(ctx, admin, use)


@licences_app.command("delegations")
def delegations(ctx: typer.Context, admin: Admin) -> None:
    """The delegations of the administrator's region, one JSON object a line."""
    from twonets.licences import service

    def use(session: Session, principal: Principal) -> str:
        rows = service.list_delegations(session, principal)
        return "\n".join(json.dumps(service.delegation_json(r), ensure_ascii=False) for r in rows)

    _as_admin(ctx, admin, use)


@licences_app.command("withdraw-delegation")
def withdraw_delegation(
    ctx: typer.Context,
    admin: Admin,
    delegation_id: Annotated[int, typer.Argument(help="the delegation's id")],
) -> None:
    """End a delegation: the department changes none of those licences from now on."""
    from twonets.core.db import utcnow
    from twonets.licences import service

    def use(session: Session, principal: Principal) -> str:
        service.withdraw_delegation(session, principal, delegation_id=delegation_id, now=utcnow())
        return f"delegation {delegation_id} withdrawn"

    _as_admin(ctx, admin, use)


@licences_app.command("issue-batch")
def issue_batch(
    ctx: typer.Context,
    staff: Annotated[str, typer.Option("--as", help="user name of the issuing clerk acting")],
    path: Annotated[Path, typer.Argument(help="JSON Lines: one licence a line", exists=True)],
    batch_size: Annotated[int, typer.Option(help="licences a transaction", min=1, max=5000)] = 1000,
) -> None:
    """Issue the licences of a file as a clerk: a department's register brought onto the
    platform. Each line is ``{"type", "claims", "valid_from", "valid_until"?}``; each batch
    is issued whole or not at all, and a refusal names the line and the field. The file is
    read and checked whole before any licence is issued."""
    from twonets.core.config import Settings, resolve_secret_key
    from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
    from twonets.licences import service
    from twonets.licences.service.batches import issuing_clerk

    try:
        items = _read_items(path)
    except _BrokenFile as exc:
        typer.echo(f"error: {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    settings: Settings = ctx.obj
    licensing = service.Licensing(resolve_secret_key(settings))
    engine = make_engine(settings.effective_database_url)
    issued = 0
    try:
        factory = make_session_factory(engine)
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            try:
                with unit_of_work(factory) as session:
                    clerk = issuing_clerk(session, staff)
                    service.issue_licences(
                        session, licensing, clerk, [item for _, item in chunk], now=utcnow()
                    )
            except TwonetsError as exc:
                typer.echo(
                    f"error: {path}: the batch from line {chunk[0][0]} is refused, none of it "
                    f"written ({issued:,} licences of earlier lines were issued): "
                    f"{_lines_named(exc.detail, chunk)}",
                    err=True,
                )
                raise typer.Exit(1) from None
            issued += len(chunk)
    finally:
        engine.dispose()
    typer.echo(f"issued {issued:,} licences")


class _BrokenFile(ValueError):
    """A licence file that cannot be read as JSON Lines of items; says where."""


def _read_items(path: Path) -> list[tuple[int, LicenceItem]]:
    """Every item of a JSON Lines file with its line number, all read before any is issued."""
    from twonets.licences.service.batches import item_of

    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BrokenFile(f"is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise _BrokenFile(exc.strerror or type(exc).__name__) from None
    items: list[tuple[int, LicenceItem]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _BrokenFile(f"line {n}: not JSON ({exc.msg})") from None
        try:
            items.append((n, item_of(record, f"line {n}")))
        except TwonetsError as exc:
            raise _BrokenFile(exc.detail) from None
    if not items:
        raise _BrokenFile("holds no licence (one JSON object a line)")
    return items


def _lines_named(detail: str, chunk: list[tuple[int, LicenceItem]]) -> str:
    """The refusal with each ``items[i]`` named by its line of the file."""
    return re.sub(r"items\[(\d+)\]", lambda m: f"line {chunk[int(m.group(1))][0]}", detail)


@trust_app.command("rotate")
def rotate(ctx: typer.Context, region: str) -> None:
    """A new signing key for a region; older keys retire and still verify what they signed."""
    from twonets.core.config import Settings, resolve_secret_key
    from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
    from twonets.trust import service as trust

    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            key = trust.rotate_region_key(
                session, region=region, root_secret=resolve_secret_key(settings), now=utcnow()
            )
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"{region}: key {kid_text(key.kid)} signs from now on; trust list republished")


def _in_region_session(ctx: typer.Context, use: Callable[[Session, Any], str]) -> None:
    """Run ``use`` in one transaction with the licensing context; a one-line error, exit 2."""
    from twonets.core.config import Settings, resolve_secret_key
    from twonets.core.db import make_engine, make_session_factory, unit_of_work
    from twonets.licences import service

    settings: Settings = ctx.obj
    engine = make_engine(settings.effective_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            text = use(session, service.Licensing(resolve_secret_key(settings)))
    except TwonetsError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(text)


@trust_app.command("recognise")
def recognise(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="the other region, e.g. JS")],
    url: Annotated[
        str, typer.Option("--url", help="the other region's platform, e.g. http://js:8000")
    ],
    anchor: Annotated[Path, typer.Option("--anchor", help="PEM file of its trust-list anchor")],
    admin: Annotated[
        str, typer.Option("--admin", help="user name of the administrator acting")
    ] = "admin",
) -> None:
    """Recognise another region's own deployment by its anchor; fetch its lists from URL."""
    from twonets.core.auth import principal_of
    from twonets.core.db import utcnow
    from twonets.core.errors import NotFound
    from twonets.core.models import Account
    from twonets.licences.service import regions

    try:
        anchor_text = anchor.read_text(encoding="ascii")
    except (OSError, UnicodeError) as exc:
        typer.echo(f"error: --anchor: cannot read {anchor}: {exc}", err=True)
        raise typer.Exit(2) from None
    try:  # checked here too, so that a broken file is named
        load_public_key(anchor_text.encode("ascii"))
    except (TwonetsError, ValueError) as exc:
        reason = exc.detail if isinstance(exc, TwonetsError) else str(exc)
        typer.echo(f"error: --anchor: {anchor}: {reason}", err=True)
        raise typer.Exit(2) from None

    def use(session: Session, licensing: Any) -> str:
        from sqlalchemy import select

        account = session.scalar(
            select(Account).where(Account.username == admin)  # governance: staff login name
        )
        if account is None or not account.active:
            raise NotFound(f"no active account {admin!r}")
        found = regions.recognise(
            session,
            licensing,
            principal_of(account),
            region=region.upper(),
            base_url=url,
            anchor=anchor_text,
            now=utcnow(),
        )
        return (
            f"{found.region_code}: recognised at {found.base_url}; its lists are fetched from there"
        )

    _in_region_session(ctx, use)


@trust_app.command("refresh")
def refresh(ctx: typer.Context) -> None:
    """Fetch every remote region's trust list and status list now; print one line each."""
    from twonets.core.db import utcnow
    from twonets.licences.service import regions

    def use(session: Session, licensing: Any) -> str:
        done = regions.refresh_regions(session, licensing, now=utcnow(), force=True)
        lines = [f"{region}: {state}" for region, state in done.regions.items()]
        return "\n".join(lines) or "no remote region is recognised"

    _in_region_session(ctx, use)


@trust_app.command("remote")
def remote_regions(ctx: typer.Context) -> None:
    """The remote regions: where, when last reached, what is cached (one JSON a line)."""
    from twonets.core.db import utcnow
    from twonets.trust import remote

    def use(session: Session, licensing: Any) -> str:
        facts = remote.describe_remote(session, now=utcnow())
        return "\n".join(json.dumps(f.to_json(), ensure_ascii=False) for f in facts)

    _in_region_session(ctx, use)


@trust_app.command("anchor")
def anchor_of(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="a region whose keys this platform holds")],
    out: Annotated[Path | None, typer.Option(help="write the PEM here (else print it)")] = None,
) -> None:
    """Print (or write) the PEM anchor of a region this platform holds, for others to pin."""
    from twonets.trust import service as trust

    def use(session: Session, licensing: Any) -> str:
        pem = trust.anchor_pem(session, region.upper(), licensing.root_secret)
        if out is None:
            return pem.rstrip()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(pem, encoding="ascii")
        return f"wrote {out}"

    _in_region_session(ctx, use)
