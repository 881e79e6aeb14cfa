"""A second region beside the demo city: Jiangsu as a deployment of its own.

``twonets demo --region JS --port 8001`` seeds a small Jiangsu platform in its own database
(``var/js/`` unless TWONETS_VAR_DIR or TWONETS_DATABASE_URL say otherwise): its own keys,
its police, social security and culture departments, an administrator, a resident holding a
Jiangsu ID card. Its trust anchor is written to ``anchor-JS.pem`` in its var dir.

Once it serves, the two regions recognise each other through what each publishes: Jiangsu
fetches Shanghai's trust list from the peer's URL and checks it under Shanghai's anchor (the
file the Shanghai demo leaves, ``var/anchor-SH.pem``); Shanghai's administrator (the demo's
``admin``) is asked, over Shanghai's API, to recognise Jiangsu at its URL under
``anchor-JS.pem``. Shanghai's simulated Jiangsu (keys in Shanghai's database) is dropped
first, so Jiangsu licences and codes verify in Shanghai against Jiangsu's own platform.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.error import HTTPError, URLError

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets import migrations
from twonets.codes import service as codes
from twonets.core import service as core_service
from twonets.core.auth import principal_of
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.errors import TwonetsError
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import Account, DepartmentLevel, Role
from twonets.core.seeding import DEMO_PASSWORD, DemoAccount
from twonets.licences import service as licences
from twonets.licences.service import regions
from twonets.trust import remote
from twonets.trust import service as trust

DEPARTMENTS = (
    ("js.police", "江苏省公安厅", "Jiangsu Public Security Department", "police", "01357913"),
    (
        "js.hrss",
        "江苏省人力资源和社会保障厅",
        "Jiangsu Human Resources and Social Security",
        "social-security",
        "01357914",
    ),
    ("js.culture", "江苏省文化和旅游厅", "Jiangsu Culture and Tourism", "culture", "01357915"),
    (
        "js.platform",
        "江苏省政务服务管理办公室",
        "Jiangsu Government Services Office",
        "platform",
        None,
    ),
)
STAFF = (
    (
        "js.admin",
        "江苏 平台管理员",
        "js.platform",
        (Role.ADMIN,),
        "administrator of Jiangsu's platform",
    ),
    (
        "js.police.clerk",
        "江苏公安 证照窗口 吴静",
        "js.police",
        (Role.STAFF,),
        "issues Jiangsu ID cards",
    ),
    (
        "js.hrss.clerk",
        "江苏社保 经办 陈涛",
        "js.hrss",
        (Role.STAFF,),
        "answers Shanghai's requests about years paid in Jiangsu",
    ),
    (
        "js.culture.authority",
        "江苏文旅 码管理 周琳",
        "js.culture",
        (Role.CODES_AUTHORITY,),
        "revokes and restores Jiangsu residents' library codes",
    ),
)


@dataclass(frozen=True)
class RegionDemo:
    """What the second region's demo made: its logins, and its anchor for the peer."""

    accounts: list[DemoAccount]
    anchor_path: Path


def own_settings(settings: Settings, region: str) -> Settings:
    """The region's own settings: its var dir (``var/<region>``) unless one was chosen."""
    var_dir = settings.var_dir
    if var_dir == Path("var"):
        var_dir = Path("var") / region.lower()
    return settings.model_copy(update={"var_dir": var_dir, "region": region})


def seed_region(settings: Settings, *, region: str) -> RegionDemo:
    """Seed the region's platform once (a second run keeps it) and write its anchor."""
    url = settings.effective_database_url
    root = resolve_secret_key(settings)
    migrations.upgrade(url)
    engine = make_engine(url)
    now = utcnow()
    accounts = [DemoAccount(u, DEMO_PASSWORD, d) for u, _, _, _, d in STAFF]
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            core_service.ensure_reference_data(session)
            seeded = trust.holds_region(session, region)
            trust.ensure_issuing_region(session, region=region, root_secret=root, now=now)
            anchor = trust.anchor_pem(session, region, root)
            if not seeded:
                resident = _seed(session, root, now)
                accounts.append(DemoAccount(resident, DEMO_PASSWORD, "Jiangsu resident"))
            else:
                found = session.scalar(
                    select(Account.username).where(Account.username.like("320102%"))
                )  # governance: the demo resident's login, to print it
                if found:
                    accounts.append(DemoAccount(found, DEMO_PASSWORD, "Jiangsu resident"))
    finally:
        engine.dispose()
    path = settings.var_dir / f"anchor-{region}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(anchor, encoding="ascii")
    return RegionDemo(accounts, path)


def _seed(session: Session, root: bytes, now: datetime) -> str:
    for code, name, name_en, function, body in DEPARTMENTS:
        core_service.create_department(
            session,
            code=code,
            name=name,
            name_en=name_en,
            function=function,
            level=DepartmentLevel.CITY,
            region_code="JS",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="320000", organisation_body=body
            )
            if body
            else None,
        )
    clerks = {}
    for username, display, department, roles, _ in STAFF:
        account = core_service.create_staff_account(
            session,
            username=username,
            display_name=display,
            password=DEMO_PASSWORD,
            department_code=department,
            roles=roles,
        )
        clerks[username] = principal_of(account)
    codes.ensure_scenarios(session, now=now)
    number = make_id_number("320102", date(1988, 6, 18), 17)
    core_service.register_citizen(
        session, id_number=number, name="赵六", password=DEMO_PASSWORD, now=now
    )
    licences.issue_licence(
        session,
        licences.Licensing(root),
        clerks["js.police.clerk"],
        type_code="ID",
        claims={
            "name": "赵六",
            "id_number": number,
            "sex": "male" if int(number[16]) % 2 else "female",
            "birth_date": "1988-06-18",
            "address": "江苏省南京市玄武区北京东路41号",
            "photo_hash": hashlib.sha256(number.encode()).hexdigest(),
        },
        valid_from=now.date() - timedelta(days=400),
        now=now,
    )
    return number


def _post_json(url: str, body: dict[str, object], token: str | None = None) -> dict[str, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        found: dict[str, object] = json.loads(answer.read() or b"{}")
        return found


def _delete(url: str, token: str) -> None:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}"}, method="DELETE"
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except HTTPError as exc:
        if exc.code != 404:
            raise


def recognise_each_other(
    settings: Settings,
    *,
    region: str,
    own_url: str,
    anchor_path: Path,
    peer: str,
    peer_url: str,
    peer_anchor: Path,
    peer_admin: str = "admin",
) -> list[str]:
    """Both regions recognise each other through their published lists; what was done."""
    done: list[str] = []
    engine = make_engine(settings.effective_database_url)
    root = resolve_secret_key(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            if remote.remote_region(session, peer) is None:
                admin = session.scalar(
                    select(Account).where(Account.username == "js.admin")
                )  # governance: the demo administrator acting
                assert admin is not None
                regions.recognise(
                    session,
                    licences.Licensing(root),
                    principal_of(admin),
                    region=peer,
                    base_url=peer_url,
                    anchor=peer_anchor.read_text(encoding="ascii"),
                    now=utcnow(),
                )
            done.append(f"{region} recognises {peer} at {peer_url}")
    finally:
        engine.dispose()
    login = _post_json(
        f"{peer_url}/api/v1/auth/token", {"username": peer_admin, "password": DEMO_PASSWORD}
    )
    token = str(login["access_token"])
    # Shanghai's simulated region of the same code is dropped, then the real one recognised.
    _delete(f"{peer_url}/api/v1/trust/regions/{region}", token)
    _post_json(
        f"{peer_url}/api/v1/trust/remote-regions",
        {"region": region, "url": own_url, "anchor": anchor_path.read_text(encoding="ascii")},
        token,
    )
    done.append(f"{peer} recognises {region} at {own_url}")
    return done


def wait_and_recognise(
    settings: Settings,
    *,
    region: str,
    own_url: str,
    anchor_path: Path,
    peer: str,
    peer_url: str,
    peer_anchor: Path,
    say: Callable[[str], None],
) -> None:
    """Wait until this region serves, then recognise the peer and be recognised by it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{own_url}/healthz", timeout=2).close()
            break
        except (URLError, OSError):
            time.sleep(0.5)
    try:
        for line in recognise_each_other(
            settings,
            region=region,
            own_url=own_url,
            anchor_path=anchor_path,
            peer=peer,
            peer_url=peer_url,
            peer_anchor=peer_anchor,
        ):
            say(line)
    except (TwonetsError, URLError, OSError, KeyError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, TwonetsError) else str(exc)
        say(
            f"the regions could not recognise each other yet ({detail}); run "
            f"`twonets trust recognise {peer} --url {peer_url} --anchor {peer_anchor} "
            "--admin js.admin` here and the same for "
            f"{region} on {peer}'s platform"
        )
