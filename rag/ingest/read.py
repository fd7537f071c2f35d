"""Read one corpus file into text, refusing what cannot be a notice.

Policy files arrive as UTF-8 (with or without a BOM), as GB18030/GBK from older
Windows tools, or as UTF-16/UTF-32 with a BOM (Windows "Unicode" saves).  Anything empty,
binary, undecodable, garbled (decodable bytes that are not language) or larger than the
configured limit is refused with a reason instead of being half-ingested.
"""

from __future__ import annotations

from pathlib import Path

_ENCODINGS = ("utf-8", "gb18030")  # GB18030 is a superset of GBK and GB2312


class UnreadableFile(Exception):
    """The file cannot be ingested; ``reason`` says why in words a user can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode(data: bytes) -> str:
    """Decode bytes as UTF-16/32 (by BOM), UTF-8 (BOM stripped) or GB18030; raise ``UnreadableFile`` otherwise."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _language(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise UnreadableFile(f"starts with a {encoding.upper()} byte-order mark but does not decode as "
                                     f"{encoding.upper()} (byte {exc.start})") from exc
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
        return _language(text)
    raise UnreadableFile("not decodable as UTF-8 or GB18030/GBK text (binary or unknown encoding)")


def _language(text: str) -> str:
    """``text`` if it reads like language; random bytes that happen to decode are refused.

    Chinese text draws ~99 % of its characters from the 3,755 common ones (GB2312 level 1);
    GBK-decoded noise draws them evenly from 21,000, so about 17 %.  Text with hardly any
    Chinese is judged by its share of symbols, which is high only in noise.
    """
    cjk = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    visible = [ch for ch in text if not ch.isspace()]
    if len(cjk) >= 50 and sum(map(_common, cjk)) < 0.5 * len(cjk):
        raise UnreadableFile("looks like binary or garbled text: most of its Chinese characters are rare ones "
                             "(random bytes decoded as GBK?)")
    if len(visible) >= 200 and len(cjk) < 0.05 * len(visible):
        symbols = sum(1 for ch in visible if not ch.isalnum())
        if symbols > 0.3 * len(visible):
            raise UnreadableFile("looks like binary or garbled text: few letters, mostly symbols")
    return text


def _common(ch: str) -> bool:
    """A character of GB2312 level 1 (the 3,755 common hanzi: lead bytes B0–D7)."""
    try:
        b = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return 0xB0 <= b[0] <= 0xD7


def _looks_binary(text: str) -> bool:
    """GB18030 decodes almost any byte string; many control characters give binary away."""
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls > max(2, len(text) // 100)


def read_bytes(path: str | Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing a file over the size limit, unreadable or empty (every format starts here)."""
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
    return data


def read_text(path: str | Path, max_bytes: int) -> str:
    """The decoded file text (a BOM dropped, nothing else changed: offsets index this string)."""
    return text_of(read_bytes(path, max_bytes))


def text_of(data: bytes) -> str:
    """The bytes of a text file decoded (:func:`decode`), refusing one with nothing but whitespace."""
    text = decode(data)
    if not text.strip():
        raise UnreadableFile("empty file (only whitespace)")
    return text
