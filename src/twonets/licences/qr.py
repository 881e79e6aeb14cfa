"""What is particular to licences in QR form: the size of the QR symbol a licence needs.

The codec itself (CWT in COSE_Sign1, zlib, base45), which codes use too, is
:mod:`twonets.trust.cose`; a licence's QR text is that codec under its region's prefix
(``SH1:``), with the licence under claim -260/1 (see :mod:`twonets.licences.verify`).
"""

from __future__ import annotations


def qr_version(text: str, *, error: str = "m") -> int:
    """The QR version (1 to 40) that ``text`` needs at error correction ``error`` (L/M/Q/H)."""
    import segno  # only this helper needs segno, so the verifier does not

    return int(segno.make_qr(text, error=error).version)
