"""Reading a JT/T 808 body field by field, each failure naming the field; text in GBK."""

from __future__ import annotations

from twonets.operations.devices.jt808.framing import (
    _DWORD,
    _WORD,
    FrameError,
)


class _Reader:
    """Reads big-endian fields from a body, raising ``FrameError`` when it runs short."""

    __slots__ = ("data", "pos", "where")

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.pos = 0
        self.where = where

    def take(self, n: int, name: str) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise FrameError(
                "truncated",
                f"{self.where}.{name}",
                f"needs {n} bytes at offset {self.pos}, {len(self.data) - self.pos} left",
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self, name: str) -> int:
        return self.take(1, name)[0]

    def word(self, name: str) -> int:
        value: int = _WORD.unpack(self.take(2, name))[0]
        return value

    def dword(self, name: str) -> int:
        value: int = _DWORD.unpack(self.take(4, name))[0]
        return value

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def done(self) -> None:
        if self.pos != len(self.data):
            raise FrameError(
                "trailing", self.where, f"{len(self.data) - self.pos} bytes after the last field"
            )


def _text(raw: bytes, where: str) -> str:
    """A GBK string field, its NUL padding removed."""
    try:
        return raw.rstrip(b"\x00").decode("gbk")
    except UnicodeDecodeError as exc:
        raise FrameError("encoding", where, f"not GBK text: {raw.hex()}") from exc


def _text_bytes(value: str, where: str) -> bytes:
    try:
        return value.encode("gbk")
    except UnicodeEncodeError as exc:
        raise FrameError("encoding", where, "not representable in GBK") from exc


def _fixed_text(value: str, size: int, where: str) -> bytes:
    raw = _text_bytes(value, where)
    if len(raw) > size:
        raise FrameError("length", where, f"{len(raw)} bytes, at most {size}")
    return raw.ljust(size, b"\x00")
