"""Clause chunking: one chunk per clause, with the heading path a citation needs.

Chinese notices number their clauses 第X章 > 第X条 > 一、 > (一) > 1. > (1) > ①.  Numbers
often run on across parents and levels are skipped, so a marker is accepted only when it
is the next expected number of its kind (or a restart at 1); that rejects look-alikes such
as 第六、七条, 统一、, 2.5亿元 and ``2.2024年`` list items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.records import PATH_SEP, Chunk, Document, stable_id
from rag.sentences import sentence_spans
from rag.tokens import count_tokens
from rag.textnorm import cn_int

if TYPE_CHECKING:  # clean.py imports this module for ``starts_with_marker``
    from rag.ingest.clean import CleanText

CHUNKER_VERSION = "clauses-3"  # 2: long clauses cut at rag.sentences ends; 3: a URL's ?/! ends no sentence; bump when chunk boundaries or paths change: indexes check it

_CN = "一二三四五六七八九十百零"
_MARKERS: tuple[tuple[str, int, str], ...] = (
    # kind, rank (smaller = higher level), pattern; group 1 is the number
    ("chapter", 0, rf"第([{_CN}]+)章"),
    ("article", 1, rf"第([{_CN}]+)条"),
    ("section", 2, rf"([{_CN}]{{1,3}})、"),
    ("paren_cn", 3, rf"[(（]([{_CN}]{{1,3}})[)）]"),
    ("arabic", 4, r"(\d{1,2})[.、．](?!\d)"),
    ("paren_num", 5, r"[(（](\d{1,2})[)）]"),
    ("circled", 6, r"([①-⑳])"),
)
_MARKER = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, _, pattern in _MARKERS))
_RANK = {kind: rank for kind, rank, _ in _MARKERS}
_GLUABLE = {"arabic", "paren_cn", "paren_num"}  # may follow a heading with no delimiter: 用工1.强化 / 策源地(一)
_SINGLE = {kind: re.compile(pattern) for kind, _, pattern in _MARKERS}
_LINE_START_MARKER = re.compile(rf"\s*(?:{_MARKER.pattern}|——|附件|【)")
_INLINE_AFTER = "。;；!！?？)）]】:："
_HEADING_END = re.compile(r"[。;；:：,，]|(?<=[\u4e00-\u9fff”])(?=\d)")
_CLOSING = re.compile(
    r"起施行|起实施|有效期|此件公开发布|^附件|^[^。]{2,300}?\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:[(（]此件公开发布[)）])?$"
)


def starts_with_marker(text: str) -> bool:
    """Whether a line opens a clause, a bullet, an attachment or a bracketed note."""
    return bool(_LINE_START_MARKER.match(text))


def _number(kind: str, digits: str) -> int:
    """The value of a marker's number: 12, 十二 or ⑫."""
    if kind == "circled":
        return ord(digits) - ord("①") + 1
    return cn_int(digits)


@dataclass(frozen=True)
class Marker:
    """An accepted clause marker at clean offset ``pos``."""

    pos: int
    kind: str
    number: int
    label: str  # marker + heading, e.g. "(三)扩容“算力券”发放"

    @property
    def rank(self) -> int:
        return _RANK[self.kind]


def find_markers(text: str) -> list[Marker]:
    """Accepted clause markers in a document's clean text, in order."""
    last: dict[str, int] = {}
    found: list[Marker] = []
    for m in _MARKER.finditer(text):
        kind = m.lastgroup or ""
        pos = m.start()
        n = _number(kind, _SINGLE[kind].fullmatch(m.group(kind)).group(1))
        line_start = not text[text.rfind("\n", 0, pos) + 1 : pos].strip()
        before = text[pos - 1] if pos else "\n"
        expected = n == last.get(kind, 0) + 1
        restart = n == 1 and kind in last
        if line_start:
            ok = expected or restart or kind not in last
        elif before in _INLINE_AFTER:
            ok = expected or restart
        elif kind in _GLUABLE and "\u4e00" <= before <= "\u9fff" and m.end() < len(text):
            after = text[m.end()]
            glued_heading = bool(found) and found[-1].rank < _RANK[kind] and "\n" not in text[found[-1].pos : pos]
            ok = "\u4e00" <= after <= "\u9fff" and ((expected and kind in last) or (n == 1 and glued_heading))
        else:
            ok = False
        if not ok:
            continue
        last[kind] = n
        found.append(Marker(pos, kind, n, _heading(text, pos, m.end())))
    return found


def _heading(text: str, start: int, marker_end: int) -> str:
    """The marker plus its heading: up to the first 。/, or a glued body (a digit), at most 40 chars."""
    line_end = text.find("\n", marker_end)
    line_end = len(text) if line_end < 0 else line_end
    body = text[marker_end:line_end]
    m = _HEADING_END.search(body)
    cut = m.start() if m else len(body)
    return (text[start:marker_end] + body[: min(cut, 40)]).strip()


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    path: tuple[str, ...]
    rank: int
    merged: bool = False  # a run of tiny siblings

    @property
    def parent(self) -> tuple[str, ...]:
        """The parent's path; a merged run's path already is its parent's."""
        return self.path if self.merged else self.path[:-1]


class ClauseChunker:
    """Cut a document into clause chunks of at most ``max_tokens`` tiktoken tokens."""

    def __init__(self, max_tokens: int = 400, min_chars: int = 40, encoding: str = "cl100k_base") -> None:
        self.max_tokens = max_tokens
        self.min_chars = min_chars
        self.encoding = encoding

    def split(self, doc: Document, clean: CleanText) -> list[Chunk]:
        """Chunks of ``doc`` (whose source span is ``doc.char_start:char_end`` of ``clean.source``)."""
        offset, end = clean.clean_index(doc.char_start), clean.clean_index(doc.char_end)
        text = clean.text[offset:end]
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for seg in self._merge_small(self._segments(doc, text), text):
            for a, b in self._fit(text, seg.start, seg.end):
                a, b = _strip(text, a, b)
                if a >= b:
                    continue
                body = text[a:b]
                chunk_id = stable_id(doc.doc_id, PATH_SEP.join(seg.path), body)
                if chunk_id in seen:  # the same clause twice under the same heading: still two chunks
                    chunk_id = stable_id(chunk_id, str(len(chunks)))
                seen.add(chunk_id)
                chunks.append(
                    Chunk(
                        chunk_id=chunk_id,
                        doc_id=doc.doc_id,
                        title=doc.title,
                        heading_path=seg.path,
                        text=body,
                        source_file=doc.source_file,
                        char_start=clean.src[offset + a],
                        char_end=clean.src[offset + b - 1] + 1,
                        ordinal=len(chunks),
                        doc_number=doc.doc_number,
                        issuer=doc.issuer,
                        date=doc.date,
                        valid_from=doc.valid_from,
                        valid_until=doc.valid_until,
                        deadline=doc.deadline,
                        parent_id=doc.parent_id,
                    )
                )
        return chunks

    def _segments(self, doc: Document, text: str) -> list[_Segment]:
        """Preamble, one segment per clause (a bare heading joins its first child), closing."""
        root = (f"《{doc.title}》",)
        header_end = _title_end(text, doc.title)
        markers = [m for m in find_markers(text) if m.pos >= header_end]
        bounds = [m.pos for m in markers] + [len(text)]
        segments: list[_Segment] = []
        if not markers or markers[0].pos > 0:
            segments.append(_Segment(0, bounds[0], root, -1))
        stack: list[Marker] = []
        pending: int | None = None  # start of a bare heading waiting for its first child
        for i, marker in enumerate(markers):
            while stack and stack[-1].rank >= marker.rank:
                stack.pop()
            stack.append(marker)
            start, end = (pending if pending is not None else marker.pos), bounds[i + 1]
            own = text[marker.pos : end].strip()
            bare = i + 1 < len(markers) and (len(own) <= len(marker.label) + 1 or (len(own) <= 40 and "。" not in own))
            if bare and markers[i + 1].rank > marker.rank:
                pending = start
                continue
            pending = None
            segments.append(_Segment(start, end, root + tuple(m.label for m in stack), marker.rank))
        if segments and markers:
            segments = segments[:-1] + self._split_closing(text, segments[-1], root)
        return segments

    @staticmethod
    def _split_closing(text: str, seg: _Segment, root: tuple[str, ...]) -> list[_Segment]:
        """Effective-date, signature and attachment paragraphs after the last clause belong to the document."""
        pos = seg.start
        first_nl = text.find("\n", pos)
        while 0 <= first_nl < seg.end:
            para_start = first_nl + 1
            para_end = text.find("\n", para_start)
            para_end = seg.end if para_end < 0 or para_end > seg.end else para_end
            if _CLOSING.search(text[para_start:para_end].strip()):
                return [_Segment(seg.start, para_start, seg.path, seg.rank), _Segment(para_start, seg.end, root, -1)]
            first_nl = text.find("\n", para_start)
        return [seg]

    def _merge_small(self, segments: list[_Segment], text: str) -> list[_Segment]:
        """Runs of tiny sibling clauses become one chunk under their common parent."""
        merged: list[_Segment] = []
        for seg in segments:
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and self._small(text, seg)
                and self._small(text, prev)
                and prev.rank == seg.rank
                and prev.parent == seg.parent
            ):
                merged[-1] = _Segment(prev.start, seg.end, prev.parent, prev.rank, merged=True)
            else:
                merged.append(seg)
        return merged

    def _small(self, text: str, seg: _Segment) -> bool:
        """A clause too short to stand alone; a merged run stays small while it is under 3 × min_chars."""
        size = len(text[seg.start : seg.end].strip())
        return size < self.min_chars or (seg.merged and size < 3 * self.min_chars)

    def _fit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Split ``[start, end)`` at sentence ends so each piece fits ``max_tokens`` (never mid-sentence)."""
        if count_tokens(text[start:end], self.encoding) <= self.max_tokens:
            return [(start, end)]
        cuts = sorted({start, end, *(start + b for _, b in sentence_spans(text[start:end]))})
        pieces: list[tuple[int, int]] = []
        a = start
        for prev_cut, cut in zip(cuts, cuts[1:]):
            if prev_cut > a and count_tokens(text[a:cut], self.encoding) > self.max_tokens:
                pieces.append((a, prev_cut))
                a = prev_cut
        pieces.append((a, end))
        return pieces


def _title_end(text: str, title: str) -> int:
    """End of the title in the document's first line (0 if absent): item numbers in it are no clauses."""
    target = re.sub(r"\s+", "", title)
    line_end = text.find("\n")
    line = text if line_end < 0 else text[:line_end]
    seen = ""
    for i, ch in enumerate(line):
        if not ch.isspace():
            seen += ch
        if seen.endswith(target):
            return i + 1
    return 0


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
