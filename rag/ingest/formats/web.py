"""Read a government web page: its main text with title, 文号 and date; site chrome left out.

Pages come as GB2312/GBK or UTF-8 bytes.  The main text is the element holding most of the
page's Chinese text outside links (descending while one child holds most of it); the title,
文号 and date are taken from the page's metadata and labelled fields when the main text does not
repeat them.  Chrome inside the main text (字号：大 中 小, 打印/关闭, 分享到, 当前位置) is
written and marked as web cruft, so the report counts it; attachment links are listed in the report.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from rag.config import FormatsConfig
from rag.ingest.clean import WEB_CRUFT
from rag.ingest.formats.extracted import Extracted, TextBuilder
from rag.ingest.formats.tables import cell_text, table_lines
from rag.ingest.read import UnreadableFile, decode

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_DROP = ("script", "style", "noscript", "iframe", "form", "button", "input", "select", "textarea", "nav",
         "header", "footer", "aside", "link", "svg")
_CHROME_ATTR = re.compile(r"breadcrumb|crumb|bread|share|bdshare|footer|copyright|toolbar|fontsize|font-size|print"
                          r"|sidebar|menu|navbar|topbar|position|location", re.I)
_CHROME_LINE = re.compile(
    r"(?:当前位置|您的位置|你的位置|当前所在位置)[:：].*|.*字[号体][:：]?\s*[【\[]?\s*大\s*[】\]]?\s*[【\[]?\s*中\s*[】\]]?\s*[【\[]?\s*小.*"
    r"|.*分享到[:：]?.*|.*(?:打印本页|打印文章|关闭窗口|【打印】|【关闭】|\[打印\]|\[关闭\]|返回顶部).*"
    r"|(?:扫一扫|用手机扫描).*|.*(?:浏览次数|访问次数|阅读次数|点击数)[:：]?\s*\d*.*"
)
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article", "main",
           "blockquote", "pre", "center", "dd", "dt", "dl", "tr", "td", "th", "tbody", "thead", "table", "body"}
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{2,12}\s*[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*\d+\s*号")
_LABELLED_NUMBER = re.compile(r"(?:发文字号|文\s*号)\s*[:：]\s*(" + _DOC_NUMBER.pattern + ")")
_LABELLED_DATE = re.compile(r"(?:发布日期|发布时间|成文日期|印发日期)\s*[:：]\s*(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_CN_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_ATTACHMENT = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|ofd|zip|rar|7z|txt|et|csv)(?:$|[?#])", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPACES = re.compile(r"[ \t\r\n\u00a0\u3000]+")


def read_html(data: bytes, cfg: FormatsConfig) -> Extracted:
    """Title, 文号, main text and date of a page; attachment links and left-out chrome in the notes."""
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise UnreadableFile("reading web pages needs beautifulsoup4 and lxml: pip install 'policy-rag[formats]'") from exc
    soup = BeautifulSoup(_decode(data), "lxml")
    meta = {m.get("name", "").lower(): m.get("content", "") for m in soup.find_all("meta") if m.get("name")}
    title = _title(soup, meta)
    page_text = _SPACES.sub(" ", soup.get_text(" "))
    attachments = _attachments(soup)
    for tag in soup.find_all(_DROP):
        tag.decompose()
    root = soup.body or soup
    main = _main(root, cfg.html_main_share)
    lines = _lines(main)
    if not any(_CJK.search(text) for text, _ in lines):
        raise UnreadableFile("web page without Chinese main text (nothing to read after the site chrome)")
    out = TextBuilder()
    body = "".join(text for text, _ in lines)
    if title and title not in body[: len(title) + 200]:
        out.line(title)
    number = _LABELLED_NUMBER.search(page_text)
    if number and _SPACES.sub("", number.group(1)) not in _SPACES.sub("", body):
        out.line(_SPACES.sub("", number.group(1)))
    for text, chrome in lines:
        out.line(text, reason=WEB_CRUFT if chrome or _CHROME_LINE.fullmatch(text) else None)
    date = _LABELLED_DATE.search(page_text) or _meta_date(meta)
    if date and not any(_CN_DATE.search(text) for text, _ in lines[-4:]):
        out.line(f"发布日期：{int(date.group(1))}年{int(date.group(2))}月{int(date.group(3))}日")
    left_out = len(_CJK.findall(page_text)) - len(_CJK.findall("".join(t for t, _ in lines)))
    notes = tuple(f"attachment link: {name} -> {href}" for name, href in attachments)
    notes += (f"site chrome outside the main text left out: {left_out} Chinese characters",) if left_out > 0 else ()
    return out.build(notes=notes)


def _decode(data: bytes) -> str:
    """The page text: by its declared charset (GB2312/GBK read as GB18030, their superset), else as a text file."""
    declared = _CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in {"gb2312", "gbk", "gb18030", "x-gbk"} else name
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)


def _title(soup: Any, meta: dict[str, str]) -> str:
    for key in ("articletitle", "title", "dc.title"):
        if meta.get(key, "").strip():
            return cell_text(meta[key])
    for tag in ("h1", "h2"):
        found = soup.find(tag)
        if found and _CJK.search(found.get_text()):
            return cell_text(found.get_text(" "))
    if soup.title and soup.title.string:
        return re.split(r"\s*[_|－—-]\s*", cell_text(soup.title.string))[0]
    return ""


def _meta_date(meta: dict[str, str]) -> re.Match[str] | None:
    for key in ("pubdate", "publishdate", "firstpublishedtime", "dc.date"):
        if m := re.search(r"(\d{4})\D(\d{1,2})\D(\d{1,2})", meta.get(key, "")):
            return m
    return None


def _attachments(soup: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for a in soup.find_all("a", href=True):
        href = a["href"].strip()
        name = cell_text(a.get_text(" ")) or unquote(href.rsplit("/", 1)[-1])
        if (_ATTACHMENT.search(href) or name.startswith("附件")) and (name, href) not in found:
            found.append((name, href))
    return found


def _weight(el: Any) -> int:
    """Chinese characters of an element outside links: what the main text has most of."""
    text = len(_CJK.findall(el.get_text()))
    links = sum(len(_CJK.findall(a.get_text())) for a in el.find_all("a"))
    return text - links


def _main(root: Any, share: float) -> Any:
    """Descend from the body while one child holds ``share`` of the text; never into a data table."""
    node = root
    while True:
        total = _weight(node)
        children = [c for c in node.find_all(recursive=False) if c.name in _BLOCKS]
        best = max(children, key=_weight, default=None)
        if best is None or total == 0 or _weight(best) < share * total or best.name in {"table", "tr", "tbody"} \
                and _is_data_table(best):
            return node
        node = best


def _is_data_table(el: Any) -> bool:
    rows = el.find_all("tr")
    return sum(1 for r in rows if len(r.find_all(["td", "th"], recursive=False)) >= 2) >= 2


def _lines(root: Any) -> list[tuple[str, bool]]:
    """``(text, is chrome)`` per line: blocks and <br> break lines, tables become table lines."""
    from bs4 import Comment, NavigableString

    out: list[tuple[str, bool]] = []
    pending: list[str] = []

    def flush(chrome: bool = False) -> None:
        text = cell_text(_SPACES.sub(" ", "".join(pending)))
        if text:
            out.append((text, chrome))
        pending.clear()

    def walk(node: Any, chrome: bool) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                pending.append(str(child))
                continue
            mine = chrome or bool(_CHROME_ATTR.search(" ".join([child.get("id", "")] + child.get("class", []))))
            if child.name == "br":
                flush(chrome)
            elif child.name == "table" and _is_data_table(child):
                flush(chrome)
                out.extend((text, mine) for text in table_lines(_table_rows(child)))
            elif child.name in _BLOCKS:
                flush(chrome)
                walk(child, mine)
                flush(mine)
            else:
                walk(child, mine)

    walk(root, False)
    flush()
    return out


def _table_rows(table: Any) -> list[list[str | None]]:
    """Cell texts per grid position: colspan leaves ``None`` (written once), rowspan repeats the text below."""
    rows: list[list[str | None]] = []
    down: dict[int, tuple[str, int]] = {}  # column -> (text, rows below still covered)

    def covered(row: list[str | None]) -> None:
        while len(row) in down:
            text, left = down.pop(len(row))
            row.append(text)
            if left > 1:
                down[len(row) - 1] = (text, left - 1)

    for tr in table.find_all("tr"):
        row: list[str | None] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            covered(row)
            text = cell_text(cell.get_text("\n"))
            if (rowspan := _span(cell.get("rowspan"))) > 1:
                down[len(row)] = (text, rowspan - 1)
            row += [text] + [None] * (_span(cell.get("colspan")) - 1)
        covered(row)
        rows.append(row)
    return rows


def _span(value: Any) -> int:
    """A colspan/rowspan attribute as a count (“2”, “2px”, junk -> 1)."""
    m = re.match(r"\s*(\d{1,3})", str(value or ""))
    return max(1, int(m.group(1))) if m else 1
