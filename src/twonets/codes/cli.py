"""Sub-command ``twonets codes``: verify a code offline, export the trust bundle, retention."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from twonets.codes import token
from twonets.core.errors import Invalid, TwonetsError
from twonets.trust.store import TrustStore
from twonets.trust.suites import load_public_key

codes_app = typer.Typer(help="Personal and enterprise codes: scenarios, verification, scans.")
DEFAULT_BUNDLE = Path("var/trust-bundle.json")


def _time(value: str | None, option: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{option}: not an ISO 8601 time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_store(paths: list[Path], now: datetime) -> TrustStore:
    """A trust store from bundle files or one region's signed list as the platform serves it.

    A file that is not one raises ``Invalid`` naming it (the verdict's ``trust`` step).
    """
    store = TrustStore()
    for path in paths:
        try:
            _load_one(store, path, now)
        except TwonetsError as exc:
            raise Invalid(f"{path}: {exc.detail}") from None
        except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise Invalid(f"{path}: not a usable trust bundle ({reason})") from None
    return store


def _load_one(store: TrustStore, path: Path, now: datetime) -> None:
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "anchor" in data and "trust_list" in data:
        data = {"format": "twonets-trust-bundle", "regions": [data]}
    if not isinstance(data, dict) or data.get("format") != "twonets-trust-bundle":
        raise Invalid("not a trust bundle or a region's signed list")
    for entry in data.get("regions", []):
        if entry.get("kind") == "pem":
            store.add_pem_region(entry["region"], entry["trust_list"])
        else:
            anchor = load_public_key(str(entry["anchor"]).encode("ascii"))
            store.add_region(anchor, entry["trust_list"], now)


@codes_app.command("verify")
def verify(
    code: Annotated[str, typer.Argument(help="the scanned code text; - for stdin")],
    trust_list: Annotated[
        list[Path] | None,
        typer.Option("--trust-list", help="trust bundle or a region's signed list; repeatable"),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time to verify at")] = None,
    grace: Annotated[int, typer.Option(help="seconds a code is accepted after expiry")] = 30,
) -> None:
    """Verify a code offline with only trust lists; print a JSON verdict; exit 0 when valid."""
    moment = _time(at, "--at")
    text = sys.stdin.read() if code == "-" else code
    paths = trust_list or [DEFAULT_BUNDLE]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        failed = {"valid": False, "step": "trust", "detail": f"no trust list at {missing[0]}"}
        typer.echo(json.dumps(failed))
        raise typer.Exit(1)
    try:
        # The lists must be current now; the code is checked at --at.
        store = load_store(paths, datetime.now(UTC))
    except TwonetsError as exc:
        typer.echo(json.dumps({"valid": False, "step": "trust", "detail": exc.detail}))
        raise typer.Exit(1) from None
    verdict = token.verify_code(text, store=store, at=moment, grace=timedelta(seconds=grace))
    typer.echo(json.dumps(verdict.to_json(), ensure_ascii=False))
    raise typer.Exit(0 if verdict.valid else 1)


def _session(ctx: typer.Context) -> Any:
    from contextlib import contextmanager

    from twonets.core.config import Settings
    from twonets.core.db import make_engine, make_session_factory, unit_of_work

    settings: Settings = ctx.obj

    @contextmanager
    def opened() -> Any:
        engine = make_engine(settings.effective_database_url)
        try:
            with unit_of_work(make_session_factory(engine)) as session:
                yield session
        finally:
            engine.dispose()

    return opened()


@codes_app.command("export-trust")
def export_trust(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="where to write the bundle")] = DEFAULT_BUNDLE,
) -> None:
    """Write the trust bundle an offline code verifier needs."""
    from twonets.codes import service
    from twonets.core.db import utcnow

    with _session(ctx) as session:
        bundle = service.trust_bundle(session, now=utcnow())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    typer.echo(f"wrote {out}: {len(bundle['regions'])} regions")


@codes_app.command("retention")
def retention(ctx: typer.Context) -> None:
    """Delete scans whose scenario's retention has run out; safe to rerun."""
    from twonets.codes import service
    from twonets.core.db import utcnow

    with _session(ctx) as session:
        deleted = service.purge_scans(session, now=utcnow())
    typer.echo(f"deleted {deleted} scans past their retention")


@codes_app.command("scenarios")
def scenarios(ctx: typer.Context) -> None:
    """List the scenarios: holders, disclosed fields, verifiers, purpose, retention, authority."""
    from twonets.codes import service
    from twonets.codes.models import scenario_json

    with _session(ctx) as session:
        rows = [scenario_json(s) for s in service.list_scenarios(session)]
    for row in rows:
        typer.echo(
            f"{row['code']:<13} {row['name_en']:<17} holders={','.join(row['holder_kinds'])} "
            f"shows={','.join(row['disclosed'])} scanners={','.join(row['verifiers']) or '-'} "
            f"purpose={row['purpose_code']} kept={row['retention_days']}d "
            f"authority={row['authority']}"
        )
