"""Split a cleaned file into its notices, attached 方案/意见/附件 and their metadata.

Compilations glue many notices together; a notice starts at (strongest signal first):
a compilation item ``12.<title>`` after a page break or section header, a title line
followed by its 文号 or addressee, a title after a page break, or a web article after a
``查看详情`` separator.  After a notice's signature, a paragraph that repeats a title the
notice quotes (现将《…》印发) starts a child document linked by ``parent_id``.
Text outside every document (cover, section headers, colophon) is reported as removed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from rag.ingest.clauses import starts_with_marker
from rag.ingest.clean import DUPLICATE, PAGE_NUMBER, RUNNING_HEADER, SEPARATOR, TOC, CleanText, Removal
from rag.ingest.clean import SECTION_HEADER as _SECTION_HEADER
from rag.records import Document, stable_id

FRONT_MATTER = "outside documents: cover or front matter"
SECTION_HEADER = "outside documents: section header"
COLOPHON = "outside documents: colophon"

_CJK = r"\u4e00-\u9fff"
_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_DOC_NUMBER = re.compile(rf"[{_CJK}]{{2,10}}?\s*〔\s*\d{{4}}\s*〕\s*\d+\s*号")
_TITLE_ENDS = (
    "的通知|指导意见|实施意见|若干意见|的意见|若干举措|若干措施|行动计划|行动方案|实施方案|工作计划"
    "|名单公示|的公示|统计公报|的决定|的规定|管理办法|实施细则|的公告"
)
_TITLE_END = re.compile(rf"(?:{_TITLE_ENDS})")
_ITEM = re.compile(
    rf"^(?P<section>[{_CJK}]{{0,10}}政策篇)?(?P<code>[A-Z]{{4}}\d{{2}}-\d{{4}}-\d{{4}})?"
    rf"(?P<number>[{_CJK}]{{2,10}}〔\s*\d{{4}}\s*〕\s*\d+\s*号)?\s*\d{{1,2}}\.(?!\d)\s*"
)
_ADDRESSEE = re.compile(r".{2,80}[:：]$")
_SIGNATURE = re.compile(rf"^(?P<pre>.*?)(?P<date>{_DATE})\s*(?:[(（]此件公开发布[)）])?\s*$")
_ORG_START = (  # where a glued issuer name starts: 浙江省经济和信息化厅|浙江省财政厅
    r"浙江省|浙江|杭州市|湖州市|嘉兴市|宁波市|国家|中国人民银行|中国银保监会|工业和信息化部|教育部|科技部"
    r"|财政部|商务部|人力资源社会保障部|自然资源部|生态环境部|交通运输部|国务院国资委|市场监管总局"
)
_ORG_SPLIT = re.compile(rf"(?<=[厅局会部室组心行府])(?={_ORG_START})")
_ISSUER_CUT = re.compile(r".*(?:[:：。;；,，)）、]|\.pdf|名单|结果|清单)")
_GROUP_ISSUER = re.compile(rf"^([{_CJK}]{{2,20}}?等[\d一二三四五六七八九十]+部门)")
_ORG_SUFFIX = "人民政府办公厅|人民政府办公室|人民政府|领导小组办公室|领导小组|办公厅|办公室|委员会|中心|分行|总局|厅|局|部"
_ORG_PREFIX = re.compile(rf"^([{_CJK}]{{2,30}}?(?:{_ORG_SUFFIX}))(?:等[\d一二三四五六七八九十]+部门)?关于")
_ORG_ONLY = re.compile(rf"(?:[{_CJK}]{{2,20}}?(?:{_ORG_SUFFIX}))+")
_ORG_COUNT = re.compile(r"委员会|银行|总局|办公厅|办公室|人民政府|领导小组|厅|局|部")
_GROUP_QUOTE = re.compile(r"等\s*(\d+)\s*部门《([^《》]{4,80})》")
_QUOTE = re.compile(r"《([^《》]{4,80})》")
_ATTACHMENT = re.compile(r"附件\s*\d+")
_SPACE = re.compile(r"(?<![A-Za-z])\s+|\s+(?![A-Za-z])")
_VALID_FROM = re.compile(rf"{_DATE}\s*起(?:施行|实施)")
_VALID_UNTIL = re.compile(rf"有效期至\s*{_DATE}")
_VALID_YEARS = re.compile(r"有效期为?\s*(\d+)\s*年")
_DEADLINE = re.compile(rf"截止(?:时间|日期)?(?:延长)?(?:为|至|到)?\s*{_DATE}|{_DATE}\s*(?:前)?\s*截止")
_DEADLINE_MD = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*(?:前)?\s*截止")
_NOTICE_PERIOD = re.compile(
    rf"公示时间[为:：]?\s*{_DATE}\s*[-—―~至]+\s*(?:(\d{{4}})\s*年\s*)?(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日"
)
_YEAR = re.compile(r"(20\d{2})\s*年")


@dataclass(frozen=True)
class Paragraph:
    """One clean line (paragraph) and the removals in the source gap before it."""

    start: int  # clean offsets
    end: int
    text: str
    gap: frozenset[str]


@dataclass(frozen=True)
class DocumentSplit:
    documents: list[Document]
    removed: list[Removal]  # text outside documents and repeated documents


@dataclass(frozen=True)
class _Start:
    para: int
    title: str
    kind: str
    child: bool = False
    doc_number: str | None = None
    headline: bool = False  # a web headline, possibly cut short


def paragraphs(clean: CleanText) -> list[Paragraph]:
    """Non-blank clean lines, each with the reasons of the removals just before it."""
    paras: list[Paragraph] = []
    removed = clean.removed  # sorted by start, non-overlapping
    pos, k = 0, 0
    for line in clean.text.split("\n"):
        end = pos + len(line)
        if line.strip():
            gap: set[str] = set()
            while k < len(removed) and removed[k].start < clean.src[pos]:
                gap.add(removed[k].reason)
                k += 1
            paras.append(Paragraph(pos, end, line.strip(), frozenset(gap)))
            while k < len(removed) and removed[k].start < clean.src[end - 1]:
                k += 1  # removals inside the paragraph belong to no gap
        pos = end + 1
    return paras


def split_documents(clean: CleanText, source_file: str) -> DocumentSplit:
    """Documents of one file, with source offsets, metadata and parent links."""
    paras = paragraphs(clean)
    if not paras:
        return DocumentSplit([], [])
    starts = _find_starts(paras, separated=any(r.reason == SEPARATOR for r in clean.removed))
    removed: list[Removal] = []
    outside: set[int] = set()
    for st in starts:  # section headers just before a document belong to no document
        i = st.para - 1
        while i >= 0 and _SECTION_HEADER.fullmatch(paras[i].text) and i not in {s.para for s in starts}:
            outside.add(i)
            i -= 1
    first = starts[0].para if starts else len(paras)
    front = [i for i in range(first) if i not in outside]
    if front and any("。" in paras[i].text for i in front):
        starts.insert(0, _Start(front[0], _fragment_title(paras[front[0]].text), "fragment"))
    else:
        outside.update(front)
    colophon = _colophon(paras, starts, front)
    docs: list[Document] = []
    seen_bodies: dict[str, str] = {}
    root: Document | None = None
    for k, st in enumerate(starts):
        stop = starts[k + 1].para if k + 1 < len(starts) else len(paras)
        members = [i for i in range(st.para, stop) if i not in outside and i < colophon]
        if not members:
            continue
        block = [paras[i] for i in members]
        a, b = clean.source_span(block[0].start, block[-1].end)
        body_key = _body_key(block)
        if body_key in seen_bodies:
            reason = f"{DUPLICATE}: repeat of document “{seen_bodies[body_key]}”"
            removed += _removals(clean, block[0].start, block[-1].end, reason)
            continue
        doc = _document(block, st, source_file, a, b, root if st.child else None, clean.text)
        seen_bodies[body_key] = doc.title
        if not st.child:
            root = doc
        docs.append(doc)
    for i in sorted(outside) + list(range(colophon, len(paras))):
        p = paras[i]
        reason = COLOPHON if i >= colophon else (SECTION_HEADER if _SECTION_HEADER.fullmatch(p.text) else FRONT_MATTER)
        removed += _removals(clean, p.start, p.end, reason)
    return DocumentSplit(_unique_ids(docs), removed)


def _removals(clean: CleanText, start: int, end: int, reason: str) -> list[Removal]:
    """Removals for clean ``[start, end)``, skipping what cleaning already removed (no double counting)."""
    return [Removal(a, b, reason, clean.source[a:b]) for a, b in clean.source_runs(start, end)]


def _find_starts(paras: list[Paragraph], separated: bool) -> list[_Start]:
    """Where documents start; a child can only start after its notice's signature."""
    starts: list[_Start] = []
    signed = False  # the current root notice has passed its signature
    quotes: list[str] = []  # titles a child document may repeat
    for i, p in enumerate(paras):
        nxt = paras[i + 1].text if i + 1 < len(paras) else ""
        start = _start_at(paras, i, nxt, separated, signed, quotes)
        if start is not None:
            starts.append(start)
            if not start.child:
                signed = False
                quotes = [start.title, _core_title(start.title)]
        if not signed:
            quotes += [_tidy(q) for q in _QUOTE.findall(p.text)]
        signed = signed or _is_signature(p.text)
    return starts


def _start_at(paras: list[Paragraph], i: int, nxt: str, separated: bool, signed: bool, quotes: list[str]) -> _Start | None:
    """The document that starts at paragraph ``i``, if any."""
    p = paras[i]
    prev = paras[i - 1].text if i > 0 else ""
    after_break = (
        i == 0
        or bool(p.gap & {PAGE_NUMBER, RUNNING_HEADER, SEPARATOR, TOC})
        or bool(_SECTION_HEADER.fullmatch(prev))
        or _is_signature(prev)
    )
    if separated and (i == 0 or SEPARATOR in p.gap):
        return _Start(i, _headline_title(p.text, nxt), "notice", headline=True)
    if signed and (title := _child_title(p.text, quotes)):
        return _Start(i, title, "bulletin" if title.endswith("公报") else "attachment", child=True)
    if signed and _ATTACHMENT.fullmatch(p.text) and 0 < len(nxt) <= 60:
        return _Start(i, _tidy(nxt), "attachment", child=True)
    if after_break and (m := _ITEM.match(p.text)) and (title := _title_at(p.text, m.end())):
        number = m.group("number")
        return _Start(i, _tidy(title), "notice", doc_number=_tidy(number) if number else None)
    title = _title_at(p.text, 0)
    if not title or "关于" not in title[:40]:
        return None
    rest = p.text[len(title) :].strip()
    header_follows = bool(_DOC_NUMBER.match(rest or nxt) or _ADDRESSEE.fullmatch(nxt))
    return _Start(i, _tidy(title), "notice") if header_follows or after_break else None


def _title_at(text: str, pos: int) -> str | None:
    """The title starting at ``pos``: up to the first balanced title ending (的通知 preferred)."""
    head = text[pos : pos + 120]
    stop = re.search(r"[。;；!?！？]", head)
    head = head[: stop.start()] if stop else head
    ends = [m.end() for m in _TITLE_END.finditer(head) if head[: m.end()].count("《") == head[: m.end()].count("》")]
    if not ends:
        return None
    notice = [e for e in ends if head[:e].endswith("的通知")]
    end = notice[0] if notice else ends[0]
    title = head[:end]
    return title if len(title) >= 6 and not re.search(r"[,，:：]", title) else None


def _headline_title(text: str, nxt: str) -> str:
    """A web headline, cut at 25 chars; the full title may be the next line (002 “…支持人工智能” / “支持人工智能…”)."""
    for n in range(min(len(text), len(nxt)), 3, -1):
        if text.endswith(nxt[:n]) and len(nxt) <= 60 and not re.search(r"[。,，]", nxt):
            return _tidy(nxt)
    return _tidy(text)


def _complete_headline(title: str, body: str) -> str:
    """A cut headline (…杭州市工信领) completed from the body where it is repeated (…工信领域项目申报工作)."""
    if _TITLE_END.search(title[-6:]) or len(title) < 12:
        return title
    tail = title[-8:]
    at = _tidy(body).find(tail)
    if at < 0:
        return title
    rest = _tidy(body)[at + len(tail) : at + len(tail) + 30]
    stop = re.search(r"[。,，;；:：(（!?》的]", rest)  # 的: stop before a cited 《…的通知》
    return title + rest[: stop.start()] if stop else title


def _child_title(text: str, quotes: list[str]) -> str | None:
    """A paragraph that repeats one of the notice's quoted titles starts the attached document."""
    compact = _tidy(text)
    for q in sorted({q for q in quotes if q and len(q) >= 6}, key=len, reverse=True):
        if compact.startswith(q) or (len(compact) >= 8 and q.startswith(compact) and len(compact) <= 60):
            return q
    return None


def _core_title(title: str) -> str:
    """关于印发X的通知 -> X (the attached document's own title)."""
    m = re.search(r"关于印发(.+)的通知$", title)
    return m.group(1).strip("《》") if m else ""


def _is_signature(text: str) -> bool:
    """Issuer(s) then a signing date ending the paragraph (attachment names before them allowed)."""
    m = _SIGNATURE.match(text)
    return bool(m) and len(_ISSUER_CUT.sub("", m.group("pre"))) <= 150


def _tidy(text: str) -> str:
    """Spaces from PDF breaks removed (kept between Latin letters)."""
    return _SPACE.sub("", text).strip()


def _colophon(paras: list[Paragraph], starts: list[_Start], front: list[int]) -> int:
    """Index of a trailing colophon: text after the last signature that repeats the cover."""
    cover = {_tidy(paras[i].text) for i in front}
    begin = starts[-1].para + 1 if starts else len(paras)
    for i in range(begin, len(paras)):
        if _tidy(paras[i].text) in cover and len(paras[i].text) >= 4 and _is_signature(paras[i - 1].text):
            return i
    return len(paras)


def _body_key(block: list[Paragraph]) -> str:
    text = "".join(p.text for p in block)
    return re.sub(r"^\d{1,2}\.", "", re.sub(r"\s+", "", text))


def _unique_ids(docs: list[Document]) -> list[Document]:
    seen: dict[str, int] = {}
    out = []
    for d in docs:
        n = seen.get(d.doc_id, 0)
        seen[d.doc_id] = n + 1
        out.append(d if n == 0 else replace(d, doc_id=stable_id(d.doc_id, str(n))))
    return out


def _years_later(start_iso: str, years: int) -> str | None:
    """The day before the same date ``years`` later (有效期N年); from 2月29日 that is 2月28日 in any year.

    ``None`` when the result is not a calendar date (有效期为9999年): the caller records why.
    """
    start = dt.date.fromisoformat(start_iso)
    try:
        if (start.month, start.day) == (2, 29):  # its anniversary is 1 March in a common year
            return dt.date(start.year + years, 2, 28).isoformat()
        return (start.replace(year=start.year + years) - dt.timedelta(days=1)).isoformat()
    except (ValueError, OverflowError):
        return None


def _iso(y: str | int, m: str | int, d: str | int) -> str | None:
    try:
        return dt.date(int(y), int(m), int(d)).isoformat()
    except (ValueError, OverflowError):
        return None


def _fragment_title(first: str) -> str:
    """The first line of text before any recognised notice, if it reads like a title."""
    if len(first) <= 60 and not re.search(r"[。,，;；:：]", first) and not starts_with_marker(first):
        return _tidy(first)
    return ""


def _title_from_citation(issuer: str, context: str) -> str | None:
    """A fragment's title, when later text cites it as 工信部等 15 部门《…》 with as many issuers as it has."""
    n = len(_ORG_COUNT.findall(issuer))
    for m in _GROUP_QUOTE.finditer(context):
        if abs(int(m.group(1)) - n) <= 1:  # glued names make the count approximate
            return _tidy(m.group(2))
    return None


def _document(
    block: list[Paragraph], st: _Start, source_file: str, a: int, b: int, parent: Document | None, context: str = ""
) -> Document:
    """Metadata of one document; ``context`` is the whole clean file (for a fragment's title)."""
    text = "\n".join(p.text for p in block)
    title = st.title or "(标题缺失:文件从正文中间开始)"  # fragment: the file starts mid-document
    if st.headline:
        title = _complete_headline(title, "".join(p.text for p in block[1:]))
    doc_number = st.doc_number or _own_doc_number(block, st)
    issuer, date = _signature(block)
    issuer = issuer or _issuer_from_title(title) or _issuer_from_title(block[0].text)
    if parent is not None:  # an attached 方案/附件 is issued by its notice: filters by issuer/year find it
        doc_number, issuer, date = doc_number or parent.doc_number, issuer or parent.issuer, date or parent.date
    valid_from = _first_date(_VALID_FROM, text)
    valid_until = _first_date(_VALID_UNTIL, text)
    unparsed: list[str] = []
    if valid_from and not valid_until and (m := _VALID_YEARS.search(text)):
        valid_until = _years_later(valid_from, int(m.group(1)))
        if valid_until is None:
            unparsed.append(f"“{m.group(0)}”超出可计算的日期范围，未推算失效日期")
    year = (date or "")[:4] or next(iter(_YEAR.findall(text)), None)
    kind = st.kind
    if kind == "fragment" and issuer and not st.title:
        title = _title_from_citation(issuer, context) or title
    if kind == "notice" and "关于" not in title and not _TITLE_END.search(title[-6:]):
        kind = "news"
    return Document(
        doc_id=stable_id(source_file, title, doc_number or "", str(a) if st.kind == "fragment" else ""),
        title=title,
        source_file=source_file,
        char_start=a,
        char_end=b,
        doc_number=doc_number,
        issuer=issuer,
        date=date,
        valid_from=valid_from,
        valid_until=valid_until,
        deadline=_deadline(text, year),
        notice_period=_notice_period(text),
        parent_id=parent.doc_id if parent else None,
        kind=kind,
        unparsed=tuple(unparsed),
    )


def _own_doc_number(block: list[Paragraph], st: _Start) -> str | None:
    """The 文号 right after the title (glued or next line); 文号 in parentheses are citations."""
    first = block[0].text
    tidy_first = _tidy(first)
    rest = tidy_first[len(st.title) :] if tidy_first.startswith(st.title) else ""
    m = _ITEM.match(first)
    if m and not rest:
        tidy_item = _tidy(first[m.end() :])
        rest = tidy_item[len(st.title) :] if tidy_item.startswith(st.title) else ""
    for candidate in (rest, _tidy(block[1].text) if len(block) > 1 else ""):
        if found := _DOC_NUMBER.match(candidate):
            return _tidy(found.group())
    return None


def _signature(block: list[Paragraph]) -> tuple[str | None, str | None]:
    """Issuer(s) and signing date from the first signature line: issuers then 年月日."""
    for k, p in enumerate(block):
        m = _SIGNATURE.match(p.text)
        if not m or not _is_signature(p.text):
            continue
        pre = _ISSUER_CUT.sub("", m.group("pre")).strip()
        if pre and k > 0 and _ORG_ONLY.fullmatch(block[k - 1].text):
            pre = block[k - 1].text + pre  # issuers split by a page break
        if not pre and k > 0:
            prev = block[k - 1].text
            if prev.startswith(("(", "（")) and k > 1:
                prev = block[k - 2].text + prev
            pre = _ISSUER_CUT.sub("", prev) if len(prev) <= 60 and "。" not in prev else ""
        issuer = " ".join(_tidy(x) for x in _ORG_SPLIT.split(pre) if x.strip()) or None
        return issuer, _iso(*re.match(_DATE, m.group("date")).groups())
    return None, None


def _issuer_from_title(title: str) -> str | None:
    if m := _ORG_PREFIX.match(_tidy(title)):
        return m.group(1)
    if m := _GROUP_ISSUER.match(_tidy(title)):
        return m.group(1)
    return None


def _first_date(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return _iso(*m.groups()[:3]) if m else None


def _deadline(text: str, year: str | None) -> str | None:
    if m := _DEADLINE.search(text):
        groups = [g for g in m.groups() if g]
        return _iso(*groups[:3])
    if year and (m := _DEADLINE_MD.search(text)):
        return _iso(year, *m.groups())
    return None


def _notice_period(text: str) -> tuple[str, ...] | None:
    m = _NOTICE_PERIOD.search(text)
    if not m:
        return None
    y, mo, d, y2, mo2, d2 = m.groups()
    start, end = _iso(y, mo, d), _iso(y2 or y, mo2, d2)
    return (start, end) if start and end else None
