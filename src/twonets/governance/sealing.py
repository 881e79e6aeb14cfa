"""Sensitive fields sealed at rest: AES-GCM under a key per dataset, rotated without downtime.

Keys are derived, never stored. One root secret (from the settings) yields, through
HKDF-SHA256, the key of each (dataset, version) and the pseudonym key of each
(department, purpose). Losing the root secret loses every sealed value; leaking it leaks
them all, so it lives only in the deployment's secret store.

A sealed value is a compact ASCII token ``gcm1:<version>:<payload>``, where the payload is
the url-safe base64 (no padding) of the 96-bit random nonce followed by the ciphertext and
its 128-bit tag. The associated data is ``<dataset>.<field>``, so a token copied into another
field fails to open; a token copied into another dataset fails because that dataset's key
differs (which also settles the ambiguity of dotted dataset names in the associated data).

Rotation: ``rotate`` makes a new version current. New values are sealed under it, while any
older version still opens, because its key can be derived again from the version written in
the token. A background job walks the rows in batches, calling ``rewrap`` where
``needs_rewrap`` says so; once it is done the old version is simply no longer used. The
current versions are state the caller keeps (settings or a table): ``versions`` gives them
back for saving. NIST SP 800-38D allows 2**32 seals per key with random 96-bit nonces, far
more than a dataset is sealed between two rotations.

What sealing does not do: it hides values from whoever reads the database files, a backup
or a replica, but not from the application, which holds the root secret. It does not hide
the length of a value (the token grows with its UTF-8 bytes). Equal values give unrelated
tokens, so a sealed field can be neither searched nor joined by value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from operator import itemgetter

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "gcm1"
SALT = b"twonets-at-rest"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# A root secret shorter than this cannot carry the 128 bits of entropy the keys promise.
MIN_ROOT_SECRET_BYTES = 16

# Version: a positive decimal without leading zeros; payload: url-safe base64, unpadded.
_TOKEN = re.compile(r"gcm1:([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)", re.ASCII)
# url-safe base64 to the standard alphabet (what ``base64.urlsafe_b64decode`` does first).
_URLSAFE = bytes.maketrans(b"-_", b"+/")
# The same, and each line break the one "A" that completes the payload before it to whole
# quads (payloads of one length 3 mod 4): one pass instead of a translation and a replace.
_URLSAFE_FILLED = bytes.maketrans(b"-_\n", b"+/A")
# The "=" that make an unpadded base64 text's length a multiple of 4, by its length mod 4.
_PADDING = ("", "", "==", "=")
_PADDING_BYTES = tuple(pad.encode() for pad in _PADDING)
# Every token of a column joined by line breaks: version and payload of each line.
_COLUMN_TOKENS = re.compile(rb"^gcm1:([1-9][0-9]{0,8}):([A-Za-z0-9_-]+)$", re.MULTILINE)
_TOKEN_PREFIX = re.compile(rb"gcm1:([1-9][0-9]{0,8}):")
# The characters of payloads one a line (deleted, nothing may be left).
_PAYLOAD_LINES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_\n"
_NONCE = itemgetter(slice(None, NONCE_BYTES))
_SEALED = itemgetter(slice(NONCE_BYTES, None))


class SealError(ValueError):
    """A token cannot be opened; the message says why and never holds key or plaintext."""


def _parse(token: object) -> tuple[int, bytes]:
    """The version and the raw nonce||ciphertext of a token, or ``SealError``."""
    if not isinstance(token, str):
        raise SealError(f"not a sealed value: expected a string, got {type(token).__name__}")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise SealError("not a sealed value: expected 'gcm1:<version>:<base64 payload>'")
    payload = match.group(2)
    if len(payload) % 4 == 1:
        raise SealError("not a sealed value: the payload has an impossible base64 length")
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise SealError("not a sealed value: the payload is not url-safe base64") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SealError("not a sealed value: the payload is too short to hold a nonce and a tag")
    return int(match.group(1)), raw


def _split_column(data: bytes, count: int) -> tuple[Sequence[bytes], bytes] | None:
    """The versions and the payloads (a line each) of ``count`` tokens joined by line breaks.

    ``None`` unless every line is a well-formed token. The versions are one per token, or
    just one when every token carries the same (the common case, checked without a regular
    expression per token).
    """
    first = _TOKEN_PREFIX.match(data)
    if first is None:
        return None
    prefix = first.group(0)
    if data.count(b"\n" + prefix) == count - 1:
        # Every line starts with the same prefix: what is left are the payloads.
        body = data[len(prefix) :].replace(b"\n" + prefix, b"\n")
        if body.translate(None, _PAYLOAD_LINES):
            return None  # an empty payload passes here and is refused as too short
        return (first.group(1),), body
    parts = _COLUMN_TOKENS.findall(data)
    if len(parts) != count:
        return None
    written, encoded = zip(*parts, strict=True)
    return written, b"\n".join(encoded)


def _nonces_and_sealed(lines: bytes, count: int) -> tuple[Iterator[bytes], Iterator[bytes]] | None:
    """The nonces and the sealed bytes of ``count`` payloads (url-safe base64, one a line).

    Payloads of one length (a column of like values) are decoded in one call: each is
    completed to whole base64 quads with ``A`` (the bytes a quad's padding stands for come
    out the same; the filler's byte is skipped), and the decoder passes over line breaks.
    Payloads of several lengths are decoded one by one, padded. ``None`` if a payload
    cannot be a token's (a length no base64 has, too short for a nonce and a tag).
    """
    length = lines.find(b"\n")
    if length < 0:
        length = len(lines)
    if len(lines) == count * (length + 1) - 1 and lines[length :: length + 1] == b"\n" * (
        count - 1
    ):
        if length % 4 == 1:
            return None
        size = length * 3 // 4  # the bytes of one payload
        if size < NONCE_BYTES + TAG_BYTES:
            return None
        filler = b"A" * (-length % 4)
        stride = (length + len(filler)) * 3 // 4
        if len(filler) == 1:
            standard = lines.translate(_URLSAFE_FILLED) + filler
        else:
            standard = lines.translate(_URLSAFE).replace(b"\n", filler + b"\n") + filler
        try:
            raw = binascii.a2b_base64(standard)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != stride * count:
            return None
        # Each stride: the nonce, the sealed bytes, the filler's bytes (skipped).
        layout = struct.Struct(f"{NONCE_BYTES}s{size - NONCE_BYTES}s{stride - size}x")
        nonces, sealed = zip(*layout.iter_unpack(raw), strict=True)
        return iter(nonces), iter(sealed)
    payloads = lines.translate(_URLSAFE).split(b"\n")
    if any(len(payload) % 4 == 1 for payload in payloads):
        return None
    padded = map(
        bytes.__add__,
        payloads,
        map(_PADDING_BYTES.__getitem__, map((3).__and__, map(len, payloads))),
    )
    try:
        raws = list(map(binascii.a2b_base64, padded))
    except (binascii.Error, ValueError):
        return None
    if min(map(len, raws)) < NONCE_BYTES + TAG_BYTES:
        return None
    return map(_NONCE, raws), map(_SEALED, raws)


def is_sealed(value: object) -> bool:
    """Whether ``value`` has the shape of a sealed token (it says nothing of which key opens it)."""
    try:
        _parse(value)
    except SealError:
        return False
    return True


def version_of(token: str) -> int:
    """The key version a token was sealed under; ``SealError`` if it is not a token."""
    return _parse(token)[0]


def _check_name(kind: str, name: str) -> None:
    """Reject an empty dataset, field, department or purpose name."""
    if not name:
        raise ValueError(f"the {kind} name must not be empty")


class Keyring:
    """Derives and caches the at-rest keys of each dataset and version, and pseudonym keys."""

    __slots__ = ("_ciphers", "_pseudonym_keys", "_root", "_versions")

    def __init__(self, root_secret: bytes, versions: Mapping[str, int] | None = None) -> None:
        if not isinstance(root_secret, bytes):
            raise TypeError("the root secret must be bytes")
        if len(root_secret) < MIN_ROOT_SECRET_BYTES:
            raise ValueError(
                f"the root secret must be at least {MIN_ROOT_SECRET_BYTES} bytes "
                f"(32 random bytes recommended), got {len(root_secret)}"
            )
        self._root = root_secret
        self._versions: dict[str, int] = {}
        for dataset, version in (versions or {}).items():
            _check_name("dataset", dataset)
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise ValueError(f"the key version of dataset {dataset} must be an integer >= 1")
            self._versions[dataset] = version
        self._ciphers: dict[tuple[str, int], AESGCM] = {}
        self._pseudonym_keys: dict[tuple[str, str], bytes] = {}

    def __repr__(self) -> str:
        # Only the versions: key material and the root secret must never reach a log line.
        return f"Keyring(versions={dict(sorted(self._versions.items()))!r})"

    def _derive(self, info: str) -> bytes:
        """HKDF-SHA256 of the root secret for the given label."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=SALT, info=info.encode())
        return hkdf.derive(self._root)

    def _cipher(self, dataset: str, version: int) -> AESGCM:
        """The AES-GCM cipher of one dataset and key version, derived once."""
        cipher = self._ciphers.get((dataset, version))
        if cipher is None:
            cipher = AESGCM(self._derive(f"at-rest:{dataset}:v{version}"))
            self._ciphers[(dataset, version)] = cipher
        return cipher

    @property
    def versions(self) -> dict[str, int]:
        """The current version of each dataset that has been given or rotated (a copy)."""
        return dict(self._versions)

    def current_version(self, dataset: str) -> int:
        """The version new values of ``dataset`` are sealed under (1 until rotated)."""
        _check_name("dataset", dataset)
        return self._versions.get(dataset, 1)

    def seal(self, dataset: str, field: str, plaintext: str) -> str:
        """Encrypt ``plaintext`` for ``dataset.field`` under the current key, as a token."""
        _check_name("field", field)
        version = self.current_version(dataset)
        try:
            data = plaintext.encode("utf-8")
        except UnicodeEncodeError:
            # The codec's own message would quote the offending character of the plaintext.
            raise SealError(
                "the plaintext is not valid Unicode (it has a lone surrogate)"
            ) from None
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(dataset, version).encrypt(nonce, data, f"{dataset}.{field}".encode())
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{PREFIX}:{version}:{payload}"

    def seal_many(self, dataset: str, field: str, plaintexts: Iterable[str]) -> list[str]:
        """``seal`` of each plaintext of one column, in order: the checks, the key and the
        associated data are worked out once for the column, each value gets its own nonce."""
        _check_name("field", field)
        version = self.current_version(dataset)
        encrypt = self._cipher(dataset, version).encrypt
        aad = f"{dataset}.{field}".encode()
        head = f"{PREFIX}:{version}:"
        b64 = base64.urlsafe_b64encode
        urandom = os.urandom
        out = []
        for plaintext in plaintexts:
            try:
                data = plaintext.encode("utf-8")
            except UnicodeEncodeError:
                raise SealError(
                    "the plaintext is not valid Unicode (it has a lone surrogate)"
                ) from None
            nonce = urandom(NONCE_BYTES)
            out.append(head + b64(nonce + encrypt(nonce, data, aad)).rstrip(b"=").decode("ascii"))
        return out

    def unseal(self, dataset: str, field: str, token: str) -> str:
        """Decrypt a token of ``dataset.field`` under the key version written in it."""
        _check_name("field", field)
        version, raw = _parse(token)
        if version > self.current_version(dataset):
            raise SealError(f"unknown key version {version} for dataset {dataset}")
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        try:
            data = self._cipher(dataset, version).decrypt(
                nonce, sealed, f"{dataset}.{field}".encode()
            )
        except InvalidTag:
            raise SealError(
                "authentication failed: the value was altered or belongs to another field"
            ) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            # Authentic but not text: sealed by something other than ``seal``.
            raise SealError("the sealed value is not UTF-8 text") from None

    def unseal_many(self, dataset: str, field: str, tokens: Iterable[object]) -> list[str | None]:
        """``unseal`` of each token of one column (``None`` stays ``None``), in order.

        The checks, the key and the associated data are worked out once for the column; a
        token that fails any check goes through ``unseal``, which raises its error.
        """
        _check_name("field", field)
        column = tokens if isinstance(tokens, list | tuple) else list(tokens)
        opened = self._open_column(dataset, field, column)
        if opened is not None:
            return opened
        return self._unseal_each(dataset, field, column)

    def _open_column(
        self, dataset: str, field: str, tokens: Sequence[object]
    ) -> list[str | None] | None:
        """Every token of a column opened with one C-level pass per step, or ``None``.

        The tokens are parsed together (one join, one regular expression over the column),
        their base64 decoded and opened by ``map`` over the cipher, so the per-token work in
        Python is a few slices. ``None`` if any token is not a well-formed token under a
        known version, or fails to open: ``_unseal_each`` then gives the same values or
        raises the error of the first failing token, exactly as before.
        """
        present: Sequence[object] = tokens
        if None in tokens:
            present = [token for token in tokens if token is not None]
        count = len(present)
        if count == 0:
            return list(tokens)  # type: ignore[arg-type]
        try:
            data = "\n".join(present).encode("ascii")  # type: ignore[arg-type]
        except (TypeError, UnicodeEncodeError):
            return None
        if data.count(b"\n") != count - 1:
            return None  # a token holding a line break: each goes its own way
        split = _split_column(data, count)
        if split is None:
            return None
        written, encoded = split
        current = self.current_version(dataset)
        ciphers: dict[bytes, AESGCM] = {}
        for version in set(written):  # a handful of versions, not a token each
            if int(version) > current:
                return None
            ciphers[version] = self._cipher(dataset, int(version))
        parts = _nonces_and_sealed(encoded, count)
        if parts is None:
            return None
        nonces, sealed = parts
        aad = f"{dataset}.{field}".encode()
        try:
            if len(ciphers) == 1:
                (cipher,) = ciphers.values()
                plain = list(map(cipher.decrypt, nonces, sealed, repeat(aad)))
            else:
                assert len(written) == count
                chosen = map(ciphers.__getitem__, written)
                plain = list(map(AESGCM.decrypt, chosen, nonces, sealed, repeat(aad)))
            texts: list[str | None] = [*map(bytes.decode, plain)]
        except (binascii.Error, ValueError, InvalidTag):
            return None  # UnicodeDecodeError is a ValueError
        if present is tokens:
            return texts
        found = iter(texts)
        return [None if token is None else next(found) for token in tokens]

    def _unseal_each(self, dataset: str, field: str, tokens: Iterable[object]) -> list[str | None]:
        """``unseal_many`` a token at a time: the reference the column pass must agree with."""
        current = self.current_version(dataset)
        aad = f"{dataset}.{field}".encode()
        # Ciphers by the version as written in the token; None for versions not yet in use.
        ciphers: dict[str, AESGCM | None] = {}
        fullmatch = _TOKEN.fullmatch
        a2b = binascii.a2b_base64
        out: list[str | None] = []
        append = out.append
        for token in tokens:
            if token is None:
                append(None)
                continue
            match = fullmatch(token) if type(token) is str else None
            if match is not None:
                written, payload = match.groups()
                cipher = ciphers.get(written)
                if cipher is None and written not in ciphers:
                    version = int(written)
                    cipher = ciphers[written] = (
                        self._cipher(dataset, version) if version <= current else None
                    )
                if cipher is not None and len(payload) % 4 != 1:
                    try:
                        raw = a2b(
                            (payload + _PADDING[len(payload) % 4]).encode().translate(_URLSAFE)
                        )
                        if len(raw) >= NONCE_BYTES + TAG_BYTES:
                            append(
                                cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode(
                                    "utf-8"
                                )
                            )
                            continue
                    except (binascii.Error, ValueError, InvalidTag):
                        pass  # UnicodeDecodeError is a ValueError
            append(self.unseal(dataset, field, token))  # type: ignore[arg-type]
        return out

    def rotate(self, dataset: str) -> int:
        """Make a new key version current for ``dataset`` and return it."""
        version = self.current_version(dataset) + 1
        self._versions[dataset] = version
        return version

    def needs_rewrap(self, dataset: str, token: str) -> bool:
        """Whether ``token`` was sealed under a version older than the current one."""
        return version_of(token) < self.current_version(dataset)

    def rewrap(self, dataset: str, field: str, token: str) -> str:
        """Re-seal a token under the current version; a current token comes back unchanged."""
        if not self.needs_rewrap(dataset, token):
            # Still opened, so a forged or misplaced token fails here rather than passing.
            self.unseal(dataset, field, token)
            return token
        return self.seal(dataset, field, self.unseal(dataset, field, token))

    def pseudonym_key(self, department: str, purpose: str) -> bytes:
        """The HMAC key of keyed pseudonyms for one department and purpose."""
        _check_name("department", department)
        _check_name("purpose", purpose)
        if ":" in department:
            # Otherwise ("a:b", "c") and ("a", "b:c") would share one label and one key.
            raise ValueError("the department name must not contain ':'")
        key = self._pseudonym_keys.get((department, purpose))
        if key is None:
            key = self._derive(f"pseudonym:{department}:{purpose}")
            self._pseudonym_keys[(department, purpose)] = key
        return key
