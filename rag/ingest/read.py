"""Read one corpus file into text, refusing what cannot be a notice.

Policy files arrive as UTF-8 (with or without a BOM) or as GB18030/GBK from older
Windows tools.  Anything empty, binary, undecodable or larger than the configured
limit is refused with a reason instead of being half-ingested.
"""

from __future__ import annotations

from pathlib import Path

_ENCODINGS = ("utf-8", "gb18030")  # GB18030 is a superset of GBK and GB2312


class UnreadableFile(Exception):
    """The file cannot be ingested; ``reason`` says why in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (BOM stripped) or GB18030; raise ``UnreadableFile`` otherwise."""
    if b"\x00" in data:
        raise UnreadableFile("binary file (contains NUL bytes), not text")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return text
    raise UnreadableFile("not decodable as UTF-8 or GB18030/GBK text (binary or unknown encoding)")


def _looks_binary(text: str) -> bool:
    """GB18030 decodes almost any byte string; many control characters give binary away."""
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls > max(2, len(text) // 100)


def read_text(path: str | Path, max_bytes: int) -> str:
    """The decoded file text (a BOM dropped, nothing else changed: offsets index this string)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise UnreadableFile(f"file too large ({size:,} bytes > limit {max_bytes:,}); raise ingest.max_file_bytes")
        data = p.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UnreadableFile("empty file")
    text = decode(data)
    if not text.strip():
        raise UnreadableFile("empty file (only whitespace)")
    return text
