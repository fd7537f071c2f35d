"""Noise removal by deletion only.

Every step marks source characters as removed, with a reason; nothing is ever inserted
or replaced.  The clean text is therefore a subsequence of the source, and ``src[i]`` (the
source offset of clean character ``i``) lets every later stage cite exact source offsets.

Line breaks are decided here too: a hard wrap or a page break inside a sentence is
deleted (the two lines are rejoined), a paragraph break keeps exactly one ``\\n``.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.ingest.clauses import starts_with_marker

# Removal reasons.  Duplicates are reported apart from noise, so they share a prefix.
DUPLICATE = "duplicate"
PAGE_NUMBER = "page number"
RUNNING_HEADER = "running header"
RUNNING_FOOTER = "running footer"
TOC = "table of contents"
WEB_CRUFT = "web cruft"
SEPARATOR = "web cruft: article separator"
HTML = "html tag"
ESCAPE = "escape backslash"
LINE_WRAP = "line wrap"
BLANK = "blank line"
CONTROL = "carriage return"
_SOFT_BREAKS = {PAGE_NUMBER, RUNNING_HEADER, RUNNING_FOOTER, CONTROL}  # a sentence may run on across these

_CRUFT_LINE = re.compile(
    r"(?:-|x|免费制作|更多内容|文本内容|收藏|转发|下载|其他案例|更多案例|\[展开\]|\[收起\]"
    r"|粉丝[:：].*|.*\{\{.*\}\}.*|发布时间[:：].*\|\s*杂志分类.*|.*云展网.*|附件下载,请点击阅读原文。?)"
)
_SEPARATOR_LINE = re.compile(r"查看详情\s*-?")
_CATEGORY_PREFIX = re.compile(r"^(?:聚焦|通知)\s*\|\s*")
_PAGE_NUMBER = re.compile(r"\s*(\d{1,3})\s*")
_PAGE_LABEL = re.compile(r"\s*第\s*\d{1,4}\s*页\s*")
_TOC_ENTRY = re.compile(r"(?:\.{4,}|…{2,})\s*\d{1,3}\s*$|[)）]\s*[(（]\d{1,3}[)）]\s*$")
_TOC_TITLE = re.compile(r"\s*目\s*录\s*")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_CLICK_FOR_DETAILS = re.compile(r"[(（]详\s*情请点击[:：](?:[^()（）]|[(（][^()（）]*[)）])*[)）]")  # a dead link
_ESCAPED_QUOTE = re.compile(r"\\(?=\")")
_PREVIEW_END = re.compile(r"(?:\.{3}|…+)\s*(?:\[收起\]|\[展开\])?\s*$")
_TITLE_END = re.compile(r"(?:通知|意见|公示|方案|计划|公报|举措|办法|措施|细则|决定|规定|名单)$")
_DOC_NUMBER_LINE = re.compile(r"[(（]?[\u4e00-\u9fff]{2,10}\s*〔\s*\d{4}\s*〕\s*\d+\s*号[)）]?")
_DATE_LINE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:[(（]此件公开发布[)）])?")
_SIGNED = re.compile(_DATE_LINE.pattern + "$")  # a line ending with a signing date
SECTION_HEADER = re.compile(
    r"(?:[\u4e00-\u9fff]{0,10}(?:政策篇|可申报项目|政策汇编)|(?:浙江省|湖州市|杭州市|嘉兴市|国家)级?|暂无最新|【[^】]{2,12}】)"
)
_TERMINAL = "。;；!！?？:：”)）】"
_ITEM_NUMBER = re.compile(r"^\d{1,2}\.(?!\d)")
_WS = re.compile(r"\s+")
_ROW_NUMBER = re.compile(r"\d{1,3}\s+[\u4e00-\u9fff]")
_TABLE_CELLS = re.compile(r"[^|]+: [^|]* \| [^|]+: .*")  # a table row a reader wrote as “列名: 值 | 列名: 值”
_CELL_GAP = re.compile(r"[\u4e00-\u9fff)）]{2}\s+(?=[\u4e00-\u9fff(（]{2})")


@dataclass(frozen=True)
class Removal:
    """A source span ``[start, end)`` left out of the clean text, and why."""

    start: int
    end: int
    reason: str
    text: str

    @property
    def is_duplicate(self) -> bool:
        return self.reason.startswith(DUPLICATE)


@dataclass(frozen=True)
class CleanText:
    """Clean text plus the map back to the source it was cut from."""

    source: str
    text: str
    src: tuple[int, ...]  # src[i] = source offset of text[i]
    removed: tuple[Removal, ...]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Source ``[start, end)`` covering clean ``[start, end)`` (non-empty)."""
        return self.src[start], self.src[end - 1] + 1

    def clean_index(self, source_offset: int) -> int:
        """First clean position at or after a source offset."""
        return bisect.bisect_left(self.src, source_offset)

    def source_runs(self, start: int, end: int) -> list[tuple[int, int]]:
        """Source spans of the contiguous pieces of clean ``[start, end)`` (for removing it without overlap)."""
        runs: list[tuple[int, int]] = []
        for i in range(start, end):
            s = self.src[i]
            if runs and runs[-1][1] == s:
                runs[-1] = (runs[-1][0], s + 1)
            else:
                runs.append((s, s + 1))
        return runs


@dataclass(frozen=True)
class _Line:
    start: int
    end: int  # exclusive, before the "\n"


class _Marks:
    """Per-character removal reasons; the first reason given to a character wins."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.reason: list[str | None] = [None] * len(source)
        self.layout: set[int] = set()  # characters a format reader marked (it knew the page layout)

    def mark(self, start: int, end: int, reason: str) -> None:
        for i in range(max(start, 0), min(end, len(self.source))):
            if self.reason[i] is None:
                self.reason[i] = reason

    def mark_line(self, line: _Line, reason: str) -> None:
        self.mark(line.start, line.end + 1, reason)

    def kept(self, line: _Line) -> str:
        return "".join(self.source[i] for i in range(line.start, line.end) if self.reason[i] is None)

    def build(self) -> CleanText:
        kept = [i for i, r in enumerate(self.reason) if r is None]
        removed: list[Removal] = []
        i, n = 0, len(self.source)
        while i < n:
            reason = self.reason[i]
            if reason is None:
                i += 1
                continue
            j = i
            while j < n and self.reason[j] == reason:
                j += 1
            removed.append(Removal(i, j, reason, self.source[i:j]))
            i = j
        return CleanText(self.source, "".join(self.source[i] for i in kept), tuple(kept), tuple(removed))


def clean(source: str, known: Sequence[Removal] = ()) -> CleanText:
    """Remove page furniture, TOCs, web cruft, markup, repeated blocks and hard wraps.

    ``known`` are spans a format reader already recognised from the layout (a PDF's running
    headers, page numbers and visual line wraps): they are removed first, with their reasons.
    """
    marks = _Marks(source)
    for r in known:
        marks.mark(r.start, r.end, r.reason)
        marks.layout.update(range(r.start, r.end))
    lines = _split_lines(source)
    for m in re.finditer("\r", source):
        marks.mark(m.start(), m.end(), CONTROL)
    _mark_toc(lines, marks)
    _mark_cruft(lines, marks)
    _mark_page_furniture(lines, marks)
    _mark_inline_noise(lines, marks)
    _mark_duplicates(lines, marks)
    _mark_line_breaks(lines, marks)
    return marks.build()


def _split_lines(source: str) -> list[_Line]:
    lines, start = [], 0
    for m in re.finditer("\n", source):
        lines.append(_Line(start, m.start()))
        start = m.end()
    if start < len(source):
        lines.append(_Line(start, len(source)))
    return lines


def _text(source: str, line: _Line) -> str:
    return source[line.start : line.end].strip()


def _mark_toc(lines: list[_Line], marks: _Marks) -> None:
    """A TOC is a cluster of entries ending in page numbers, plus the short lines leading into it.

    TOC entries look exactly like titles and item numbers, so they are removed before
    documents are split: a TOC line is never a heading or a document.
    """
    src = marks.source
    entries = [i for i, ln in enumerate(lines) if _TOC_ENTRY.search(_text(src, ln))]
    clusters: list[list[int]] = []
    for i in entries:
        if clusters and i - clusters[-1][-1] <= 8:
            clusters[-1].append(i)
        else:
            clusters.append([i])
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        first, last = cluster[0], cluster[-1]
        while first > 0 and first - cluster[0] > -12:
            prev = _text(src, lines[first - 1])
            if _TOC_TITLE.fullmatch(prev):
                first -= 1
                break
            if len(prev) > 40 or (prev and prev[-1] in "。;；"):
                break
            first -= 1
        for ln in lines[first : last + 1]:
            marks.mark_line(ln, TOC)


def _mark_cruft(lines: list[_Line], marks: _Marks) -> None:
    for ln in lines:
        text = _text(marks.source, ln)
        if _SEPARATOR_LINE.fullmatch(text):
            marks.mark_line(ln, SEPARATOR)
        elif text and _CRUFT_LINE.fullmatch(text):
            marks.mark_line(ln, WEB_CRUFT)


def _mark_page_furniture(lines: list[_Line], marks: _Marks) -> None:
    """Page labels, running headers (a short line repeated with changing page digits), page numbers.

    A bare number is a page number only if it continues the page sequence (same, next, or a
    restart at 1): table row numbers in 001 are bare digits too and break the sequence.
    """
    src = marks.source
    texts = [_text(src, ln) for ln in lines]
    stems = Counter(t.rstrip("0123456789") for t in texts if t and t[-1].isdigit() and "\t" not in t and len(t) <= 30)
    headers = {s for s, n in stems.items() if n >= 3 and len(s) >= 4 and not re.search(r"[。,;:\d]", s)}
    last_page: int | None = None
    for ln, text in zip(lines, texts):
        if _PAGE_LABEL.fullmatch(text):
            marks.mark_line(ln, PAGE_NUMBER)
        elif text and text.rstrip("0123456789") in headers:
            marks.mark_line(ln, RUNNING_HEADER)
        elif m := _PAGE_NUMBER.fullmatch(text):
            n = int(m.group(1))
            if last_page is None or n in (last_page, last_page + 1, 1):
                marks.mark_line(ln, PAGE_NUMBER)
                last_page = n


def _mark_tags(ln: _Line, marks: _Marks) -> None:
    """Mark markup until none is left: deleting ``<script>`` inside ``<iframe srcdoc="…">`` must not
    leave a tag assembled from the pieces around it, so the kept text is searched again."""
    while True:
        positions = [i for i in range(ln.start, ln.end) if marks.reason[i] is None]
        kept = "".join(marks.source[i] for i in positions)
        found = list(_HTML_TAG.finditer(kept))
        if not found:
            return
        for m in found:
            for k in range(m.start(), m.end()):
                marks.mark(positions[k], positions[k] + 1, HTML)


def _mark_inline_noise(lines: list[_Line], marks: _Marks) -> None:
    src = marks.source
    for m in _CLICK_FOR_DETAILS.finditer(src):
        marks.mark(m.start(), m.end(), WEB_CRUFT)
    for ln in lines:
        text = src[ln.start : ln.end]
        if m := _CATEGORY_PREFIX.match(text):
            marks.mark(ln.start, ln.start + m.end(), WEB_CRUFT)
        _mark_tags(ln, marks)
        for m in _ESCAPED_QUOTE.finditer(text):
            marks.mark(ln.start + m.start(), ln.start + m.end(), ESCAPE)


def _dedupe_key(text: str) -> str:
    return _ITEM_NUMBER.sub("", _WS.sub("", text))


def _mark_duplicates(lines: list[_Line], marks: _Marks) -> None:
    """Drop a later exact repeat of a run of lines (≥3 lines or ≥200 chars), and preview copies.

    Item numbers are ignored (000 repeats item 12 as item 24); short boilerplate (a single
    addressee, a table header row) never forms a long enough run to be dropped.
    """
    src = marks.source
    content = [(ln, _dedupe_key(marks.kept(ln))) for ln in lines]
    content = [(ln, k) for ln, k in content if k]
    keys = [k for _, k in content]
    seen: dict[str, list[int]] = {}
    i = 0
    while i < len(keys):
        best = 0
        for j in seen.get(keys[i], []):
            n = 0
            while i + n < len(keys) and j + n < i and keys[j + n] == keys[i + n]:
                n += 1
            best = max(best, n)
        chars = sum(len(k) for k in keys[i : i + best])
        if (best >= 3 and chars >= 60) or chars >= 200:
            for ln, _ in content[i : i + best]:
                marks.mark_line(ln, f"{DUPLICATE}: repeated block")
            i += best
            continue
        seen.setdefault(keys[i], []).append(i)
        i += 1
    for ln, _ in content:
        text = marks.kept(ln).strip()
        if not _PREVIEW_END.search(text):
            continue
        body = _WS.sub("", _PREVIEW_END.sub("", text))
        rest = _WS.sub("", src[ln.end :])
        parts = [p for p in re.split(r"\.{3}|…+", body) if p]
        if len(body) >= 40 and parts and all(p in rest for p in parts):
            marks.mark_line(ln, f"{DUPLICATE}: truncated preview of the text below")


def _width(text: str) -> float:
    """Display width: CJK and full-width characters count 1, ASCII counts 1/2."""
    return sum(0.5 if ord(ch) < 0x2000 else 1.0 for ch in text)


def _wrap_width(texts: list[str]) -> float | None:
    """The hard-wrap width of a PDF text dump (001 wraps at 26), or None if lines are paragraphs."""
    widths = [round(_width(t)) for t in texts if _width(t) >= 10]
    if len(widths) < 50:
        return None
    w, _ = Counter(widths).most_common(1)[0]
    near = sum(1 for x in widths if w - 2 <= x <= w)
    return float(w) if w < 40 and near >= 0.3 * len(widths) else None


def _is_title(text: str) -> bool:
    return len(text) <= 80 and bool(_TITLE_END.search(text)) and not re.search(r"[。,;；,]", text)


def _is_fixed_line(text: str, lead_in: bool = True) -> bool:
    """Lines that are always their own paragraph: 文号, signatures, addressees, section headers.

    ``lead_in=False`` lets a line ending “:” run on from the line before: in a hard-wrapped dump, after a
    line with no sentence end, it is the wrapped tail of a lead-in (“…可直接确认符合科技 / 型中小企业条件:”).
    """
    return bool(
        _DOC_NUMBER_LINE.fullmatch(text)
        or _SIGNED.search(text)
        or (lead_in and text.endswith((":", "：")))
        or SECTION_HEADER.fullmatch(text)
    )


def _is_table_row(text: str) -> bool:
    """A flattened table row: a leading row number, or several space-separated cells."""
    if _TABLE_CELLS.fullmatch(text):
        return True
    gaps = len(_CELL_GAP.findall(text))
    return gaps >= 2 or (gaps == 1 and bool(_ROW_NUMBER.match(text)))


def _joins(para: str, prev: str, nxt: str, after: str, broken: bool, wrap: float | None) -> bool:
    """Whether the break between lines ``prev`` and ``nxt`` is inside a sentence, so it is deleted.

    ``para`` is the paragraph so far (ending with ``prev``); ``after`` the line after ``nxt``.
    """
    if not prev or not nxt or "\t" in prev or "\t" in nxt:
        return False
    wrapped_lead_in = wrap is not None and prev[-1] not in _TERMINAL
    if starts_with_marker(nxt) or _is_fixed_line(prev) or _is_fixed_line(nxt, not wrapped_lead_in) or _is_title(para):
        return False
    if _DATE_LINE.fullmatch(after) and len(nxt) <= 30 and "。" not in nxt:
        return False  # nxt is the issuer line of a signature
    if wrap is not None and _ITEM_NUMBER.match(para) and not re.search(r"[。,，;；:：]", para):
        return True  # a compilation item title, wrapped in a larger font
    if _is_table_row(prev) or _is_table_row(nxt):
        return False
    if wrap is not None:
        width = _width(prev)
        if width > wrap + 2:
            return False  # wider than the wrap width: not a wrapped line (a table row)
        # A full line runs on; a sentence end just short of the margin usually ends the paragraph.
        return width >= wrap - (1.5 if prev[-1] in _TERMINAL else 5)
    if not broken or prev[-1] in _TERMINAL or len(prev) < 20:
        return False
    return not (starts_with_marker(prev) and len(prev) <= 40 and "。" not in prev)


def _mark_line_breaks(lines: list[_Line], marks: _Marks) -> None:
    """Join or keep each line break.  Lines a reader joined at visual wraps count as one line here."""
    src = marks.source
    visual = [ln for ln in lines if marks.kept(ln).strip()]
    groups: list[list[_Line]] = []  # the visual lines of one written line
    for k, ln in enumerate(visual):
        wraps = k and visual[k - 1].end in marks.layout and marks.reason[visual[k - 1].end] == LINE_WRAP
        if wraps:
            marks.mark(visual[k - 1].end, ln.start, LINE_WRAP)
            groups[-1].append(ln)
        else:
            groups.append([ln])
    texts = ["".join(marks.kept(ln).strip() for ln in g) for g in groups]
    wrap = _wrap_width(texts)
    para = texts[0] if texts else ""
    for k in range(len(groups) - 1):
        prev, nxt = groups[k][-1], groups[k + 1][0]
        gap = range(prev.end, nxt.start)
        # Furniture a reader found at a page break is no sign of a broken sentence (it is on every page):
        # such a break is judged as if the two lines were on one page.
        plain = [i for i in gap if i not in marks.layout]
        reasons = {marks.reason[i] for i in plain}
        hard = any(r is not None and r not in _SOFT_BREAKS for r in reasons)
        broken = bool(reasons & _SOFT_BREAKS) or sum(src[i] == "\n" for i in plain) > 1
        after = texts[k + 2] if k + 2 < len(texts) else ""
        if not hard and _joins(para, texts[k], texts[k + 1], after, broken, wrap):
            marks.mark(prev.end, nxt.start, LINE_WRAP)
            para += texts[k + 1]
            continue
        para = texts[k + 1]
        kept_newline = next((i for i in gap if src[i] == "\n" and marks.reason[i] is None), None)
        for i in gap:
            if i != kept_newline and marks.reason[i] is None:
                marks.mark(i, i + 1, BLANK)
        if kept_newline is None:  # the only newline was inside a removed line: restore a break
            first_nl = next((i for i in gap if src[i] == "\n"), None)
            if first_nl is not None:
                marks.reason[first_nl] = None
