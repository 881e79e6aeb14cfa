"""QR verification against bare ES256, counted in CPU instructions (valgrind's callgrind).

Seconds on a shared machine vary with whatever else runs; instruction counts do not (the same
binary, inputs and environment give the same count whatever the other core does). This script
runs itself under ``valgrind --tool=callgrind`` twice per side, with ``--small`` and
``--large`` iterations, and takes the difference over the extra iterations: the count of one
verification without the interpreter's start-up. Both sides verify the same 20 ID-card-sized
credentials: ``bare`` is ``cryptography``'s ES256 verify of the prepared DER signature and
Sig_structure, ``full`` is ``twonets.trust.cose.verify`` (prefix, base45, zlib, CBOR, kid,
signature, dates, verdict). Instructions are not seconds (interpreter code retires fewer
instructions per cycle than the curve arithmetic), so the ratio here is an upper bound of the
time ratio that ``benchmarks/licence_verify.py`` measures; it is the noise-free figure for
telling whether a change to the Python path helped.

    .venv/bin/python benchmarks/qr_verify_instructions.py [--small N] [--large N]
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _workload(side: str, iterations: int) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from twonets.trust import cose, cose_steps
    from twonets.trust.suites import raw_to_der

    key = ec.derive_private_key(123456789, ec.SECP256R1())
    alg, sign = cose.cose_signer(key)
    kid = cose.kid_from_public_key(key.public_key())
    issued = datetime(2026, 12, 1, tzinfo=UTC)
    texts = []
    for i in range(20):
        claims = {
            "l": f"ID-310-{i:08d}",
            "t": "ID",
            "c": {
                "name": f"张三{i}",
                "id_number": "310101197608011039",
                "birth_date": "1976-08-01",
                "address": "上海市黄浦区人民大道200号",
            },
            "s": {"status_list": {"uri": "https://sh.example/status/1", "idx": i}},
        }
        texts.append(
            cose.encode(
                claims,
                prefix="SH1:",
                kid=kid,
                sign=sign,
                alg=alg.value,
                issuer="SH",
                issued_at=issued,
                expires_at=issued + timedelta(days=3650),
            )
        )
    public = key.public_key()
    candidates = [cose.PublicKeyCandidate(public, "SH")]
    at = issued + timedelta(days=1)
    prefixes = ["JS1:", "SH1:", cose.HCERT_PREFIX]
    if side == "bare":
        prepared = []
        for text in texts:
            _, parts, _ = cose_steps.decode_text(text, prefixes)
            message = cose_steps.sig_structure(parts.protected_raw, parts.payload_raw)
            prepared.append((raw_to_der(parts.signature, 32), message))
        ecdsa = ec.ECDSA(hashes.SHA256())
        for i in range(iterations):
            signature, message = prepared[i % 20]
            public.verify(signature, message, ecdsa)
    else:
        for i in range(iterations):
            verdict = cose.verify(
                texts[i % 20], keys_for=lambda _kid: candidates, at=at, prefixes=prefixes
            )
            if not verdict.valid:
                raise SystemExit(f"verification failed: {verdict.detail}")


def _count(side: str, iterations: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        run = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--run",
                side,
                str(iterations),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"refs:\s+([\d,]+)", run.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Count both sides, print instructions per verification and the ratio."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--small", type=int, default=100, help="iterations of the first run")
    parser.add_argument("--large", type=int, default=400, help="iterations of the second run")
    parser.add_argument("--run", nargs=2, metavar=("SIDE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        _workload(args.run[0], int(args.run[1]))
        return {}
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions with it")
    if args.large <= args.small:
        parser.error("--large must exceed --small")
    print(
        f"QR verification in instructions: Python {platform.python_version()}, "
        f"{platform.machine()}; valgrind callgrind"
    )
    per: dict[str, float] = {}
    for side in ("bare", "full"):
        small, large = _count(side, args.small), _count(side, args.large)
        per[side] = (large - small) / (args.large - args.small)
        print(f"  {side:<5} {per[side]:>12,.0f} instructions per verification")
    ratio = per["bare"] / per["full"]
    print(
        f"  full verification at {ratio:.0%} of bare ES256 in instructions "
        f"(Python's share: {per['full'] - per['bare']:,.0f} instructions)"
    )
    return {"bare": per["bare"], "full": per["full"], "ratio": ratio}


if __name__ == "__main__":
    main()
