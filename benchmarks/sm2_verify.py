"""SM2 verification per second on one core, against ``openssl speed sm2`` in the same run.

The aim (issue #19): the SM2-SM3 suite's ``verify`` (raw r || s signature, SM3 with the
default user id, the key already loaded) at least 70% of what ``openssl speed sm2`` reports
for SM2 verification on the same core. Rounds alternate between the two so that drift hits
both alike; the median round counts. Both count operations per second of CPU time
(``openssl speed`` measures its own user time), so that other work on a shared machine
does not make either look slower. Also measured, for information: tongsuopy's public
``key.verify(der, message, ECDSA(SM3()))`` (which ``twonets.trust.sm2`` does not use: see
its docstring for why) and signing.

    .venv/bin/python benchmarks/sm2_verify.py [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

from twonets.trust import sm2
from twonets.trust.suites import SM2_SM3, SM2PrivateKey, raw_to_der

MESSAGE = "上海市 电子证照 SM2 签名 benchmark".encode()


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of this process's CPU time, as ``openssl speed`` counts its own."""
    count = 0
    start = time.process_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            call()
        count += 50
        now = time.process_time()
        if now >= deadline:
            return count / (now - start)


def _openssl_verify_rate(openssl: str, seconds: float) -> float:
    run = subprocess.run(
        ["taskset", "-c", str(min(os.sched_getaffinity(0))), openssl, "speed", "-seconds",
         str(max(1, round(seconds))), "sm2"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    # "256 bits SM2 (CurveSM2)   0.0003s   0.0003s   2938.2   3293.8": sign/s, verify/s last.
    for line in run.stdout.splitlines():
        match = re.search(r"SM2.*?([\d.]+)\s+([\d.]+)\s*$", line)
        if match:
            return float(match.group(2))
    raise SystemExit(f"cannot read openssl speed's output:\n{run.stdout}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    openssl = shutil.which("openssl")
    if openssl is None or shutil.which("taskset") is None:
        raise SystemExit("openssl and taskset are needed: the baseline is openssl speed sm2")
    _pin_to_one_core()

    private = SM2_SM3.generate()
    assert isinstance(private, SM2PrivateKey)
    public = private.public_key()
    signature = SM2_SM3.sign(private, MESSAGE)
    assert SM2_SM3.verify(public, MESSAGE, signature)
    _, ec, _, _ = sm2._modules()
    hashes = sm2._modules()[0]
    high_level_key = sm2._public(public.point)
    der = raw_to_der(signature)

    def high_level() -> None:
        high_level_key.verify(der, MESSAGE, ec.ECDSA(hashes.SM3()))

    ours, bare, public_api, signing = [], [], [], []
    for _ in range(args.rounds):
        bare.append(_openssl_verify_rate(openssl, args.seconds))
        ours.append(_rate(lambda: SM2_SM3.verify(public, MESSAGE, signature), args.seconds))
        public_api.append(_rate(high_level, args.seconds / 2))
        signing.append(_rate(lambda: SM2_SM3.sign(private, MESSAGE), args.seconds / 2))

    median = statistics.median
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, one core pinned")
    print(f"openssl speed sm2 verify        {median(bare):9.0f}/s")
    print(f"SM2-SM3 suite verify (ours)     {median(ours):9.0f}/s")
    print(f"tongsuopy key.verify (public)   {median(public_api):9.0f}/s")
    print(f"SM2-SM3 suite sign              {median(signing):9.0f}/s")
    ratio = median(ours) / median(bare)
    print(f"ratio ours / openssl: {ratio:.2f} (aim at least 0.70)")
    return 0 if ratio >= 0.70 else 1


if __name__ == "__main__":
    raise SystemExit(main())
