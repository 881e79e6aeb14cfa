"""Base45 (RFC 9285): the QR alphanumeric encoding of binary data in compact credentials."""

from __future__ import annotations

import numpy as np

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_ALPHABET = ALPHABET
_B45_VALUE = {char: value for value, char in enumerate(_B45_ALPHABET)}


def is_base45_text(text: str) -> bool:
    """Whether every character of ``text`` is in the base45 (QR alphanumeric) alphabet."""
    return all(char in _B45_VALUE for char in text)


def _pair_table() -> bytes:
    """The three characters of each of the 65,536 two-byte values (192 KiB, built once)."""
    alphabet = np.frombuffer(_B45_ALPHABET.encode("ascii"), dtype=np.uint8)
    numbers = np.arange(0x10000, dtype=np.uint32)
    e, rest = np.divmod(numbers, 45 * 45)
    d, c = np.divmod(rest, 45)
    table: bytes = alphabet[np.stack([c, d, e], axis=1)].tobytes()
    return table


_B45_PAIRS = np.frombuffer(_pair_table(), dtype=np.uint8).reshape(0x10000, 3)


def b45encode(data: bytes) -> str:
    """Base45 of ``data`` (RFC 9285): each 2 bytes become 3 characters, a last byte 2."""
    # One table lookup per pair of bytes, vectorised like b45decode: every credential signed
    # is encoded once (a loop per pair took about as long as the signature itself).
    full = len(data) - len(data) % 2
    pairs = np.frombuffer(data, dtype=">u2", count=full // 2)
    encoded: bytes = _B45_PAIRS[pairs].tobytes()
    text = encoded.decode("ascii")
    if full < len(data):
        d, c = divmod(data[-1], 45)
        text += _B45_ALPHABET[c] + _B45_ALPHABET[d]
    return text


def _b45_table() -> bytes:
    table = bytearray(b"\xff" * 256)
    for char, value in _B45_VALUE.items():
        table[ord(char)] = value
    return bytes(table)


_B45_TABLE = _b45_table()
_B45_WEIGHTS = np.array([1, 45, 2025], dtype=np.uint32)


def b45decode(text: str) -> bytes:
    """The bytes of base45 ``text`` (RFC 9285); ValueError names the offending position."""
    # Translating the whole text at once and unpacking the triplets with struct keeps this
    # several times faster than a loop per character: it runs on every verification.
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"character {text[exc.start]!r} at position {exc.start} is not base45"
        ) from None
    values = raw.translate(_B45_TABLE)
    bad = values.find(b"\xff")
    if bad != -1:
        raise ValueError(f"character {text[bad]!r} at position {bad} is not base45")
    length = len(values)
    if length % 3 == 1:
        raise ValueError(f"length {length} leaves one character over (length mod 3 is 1)")
    full = length - length % 3
    triplets = np.frombuffer(values, dtype=np.uint8, count=full).reshape(-1, 3)
    numbers = triplets.astype(np.uint32) @ _B45_WEIGHTS
    if numbers.size and int(numbers.max()) > 0xFFFF:
        k = int(np.argmax(numbers > 0xFFFF))
        i = 3 * k
        raise ValueError(f"{text[i : i + 3]!r} at position {i} is {numbers[k]}, over 65535")
    out = numbers.astype(">u2").tobytes()
    if full < length:
        number = values[full] + values[full + 1] * 45
        if number > 0xFF:
            raise ValueError(f"{text[full : full + 2]!r} at position {full} is {number}, over 255")
        out += bytes([number])
    return out
