"""Sub-command ``twonets wallet``: a holder's wallet on the command line.

For tests and for people without a browser. The holder's key is a P-256 private key in a PEM
file the holder keeps (written with owner-only permissions, and refused when others can read
it); the platform only ever learns its public JWK. ``request`` registers that key and fetches
a credential of one of the holder's licences bound to it; ``present`` makes a presentation of
that credential for one verifier and challenge, disclosing only the named claims.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from twonets.core.errors import Invalid
from twonets.licences import sdjwt

wallet_app = typer.Typer(
    help="A holder's wallet: a key file, credentials bound to it, and presentations.",
    no_args_is_help=True,
)

KeyOption = Annotated[Path, typer.Option("--key", help="the holder's private key (PEM, 0600)")]
HTTP_TIMEOUT_SECONDS = 30


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _write_private(path: Path, data: bytes, *, force: bool) -> None:
    """Write ``data`` to a new file readable and writable by its owner only."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        _fail(f"{path} already exists; choose another file or pass --force")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror}")
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def load_holder_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The holder's P-256 key from its PEM file; a file others may read is refused."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read the key file {path}: {exc.strerror}")
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        _fail(f"the key file {path} is open to others (mode {stat.filemode(mode)}); chmod 600 it")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        _fail(f"{path} is not an unencrypted PEM private key: {exc}")
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        _fail(f"{path} holds a {type(key).__name__}; the wallet uses EC P-256 keys")
    return key


def _public(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    return sdjwt.public_jwk(key.public_key())


@wallet_app.command("keygen")
def keygen(
    key: KeyOption,
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Make a new holder key (EC P-256) in FILE (0600) and print its public JWK."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(key, pem, force=force)
    jwk = _public(private)
    typer.echo(json.dumps(jwk, sort_keys=True))
    typer.echo(f"thumbprint {sdjwt.jwk_thumbprint(jwk)}; keep {key} to yourself", err=True)


@wallet_app.command("public-key")
def public_key(key: KeyOption) -> None:
    """Print the public JWK of the holder key in FILE (what an issuer binds credentials to)."""
    typer.echo(json.dumps(_public(load_holder_key(key)), sort_keys=True))


def _call(api: str, path: str, token: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """POST ``body`` (or GET) to the platform's API with the bearer token; the JSON answer."""
    request = urllib.request.Request(
        api.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode("utf-8"),
        method="GET" if body is None else "POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        _fail(f"{path}: {exc.code} {detail}")
    except (urllib.error.URLError, OSError) as exc:
        _fail(f"cannot reach {api}: {getattr(exc, 'reason', exc)}")


@wallet_app.command("request")
def request_credential(
    key: KeyOption,
    licence: Annotated[int, typer.Option("--licence", help="the licence's number in my wallet")],
    out: Annotated[Path, typer.Option("--out", help="where to keep the credential (0600)")],
    api: Annotated[str, typer.Option(help="the platform's address")] = "http://127.0.0.1:8000",
    token: Annotated[
        str, typer.Option(envvar="TWONETS_TOKEN", help="my bearer token (or TWONETS_TOKEN)")
    ] = "",
    device: Annotated[str, typer.Option(help="a name for this wallet")] = "command-line wallet",
    force: Annotated[bool, typer.Option(help="overwrite an existing --out file")] = False,
) -> None:
    """Register this key's public half and fetch a credential of one licence bound to it."""
    if not token:
        _fail("no token: pass --token or set TWONETS_TOKEN (POST /api/v1/auth/token)")
    private = load_holder_key(key)
    registered = _call(
        api, "/api/v1/holder-keys", token, {"jwk": _public(private), "device": device}
    )
    answer = _call(
        api, f"/api/v1/wallet/{licence}/credential", token, {"holder_key_id": registered["id"]}
    )
    credential = str(answer["credential"])
    _write_private(out, credential.encode("ascii"), force=force)
    typer.echo(f"credential of licence {licence} bound to key {registered['thumbprint']} in {out}")


@wallet_app.command("present")
def present(
    key: KeyOption,
    credential: Annotated[Path, typer.Option("--credential", help="a credential bound to KEY")],
    nonce: Annotated[str, typer.Option("--nonce", help="the verifier's challenge")],
    aud: Annotated[str, typer.Option("--aud", help="the verifier (audience)")],
    disclose: Annotated[
        list[str] | None, typer.Option("--disclose", help="a claim to show (repeat)")
    ] = None,
) -> None:
    """Print a presentation of CREDENTIAL for AUD and NONCE, showing only the --disclose claims."""
    private = load_holder_key(key)
    try:
        issued = credential.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read the credential {credential}: {exc}")
    if not nonce.strip() or not aud.strip():
        _fail("--nonce and --aud must not be empty: the verifier gives both")
    try:
        shown = sdjwt.present(
            issued,
            disclose=list(dict.fromkeys(disclose or [])),
            holder_key=private,
            audience=aud,
            nonce=nonce,
            at=datetime.now(UTC),
        )
    except Invalid as exc:
        _fail(f"{credential}: {exc.detail}")
    except ValueError as exc:
        _fail(f"{credential}: {exc}")
    typer.echo(shown)
