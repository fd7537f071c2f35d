"""HTML for answers and citation cards: pure functions from records to markup.

Kept apart from the Gradio wiring so the formatting can be read (and tested) without a
server.  Every string that comes from a document or the model is escaped here; the
markup is emitted on one line because the chatbot runs it through Markdown, where an
indented or blank line would turn HTML into a code block or a paragraph break.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date

from rag.answer.validity import lapsed
from rag.records import Answer, Chunk, Citation

_REF = re.compile(r"\[(\d{1,2})\]")
_QUOTE_SPLIT = re.compile(r"\s*(?:…+|\.\.\.+|\n)\s*")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _multiline(text: str) -> str:
    """Escaped text with its line breaks kept as ``<br>`` (never raw newlines, see module doc)."""
    return "<br>".join(_esc(line) for line in text.splitlines())


def highlight(text: str, quote: str) -> str:
    """``text`` escaped, with each verbatim piece of ``quote`` wrapped in ``<mark>``.

    A quote may be several sentences joined by “…”; each piece found in the text is marked,
    pieces not found are ignored (the quote is verified upstream, the UI only displays it).
    """
    spans: list[tuple[int, int]] = []
    pieces = [p for p in _QUOTE_SPLIT.split(quote.strip()) if len(p) >= 2] if quote else []
    for piece in pieces:
        start = text.find(piece)
        if start >= 0:
            spans.append((start, start + len(piece)))
    spans.sort()
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:  # overlapping pieces: extend the previous mark instead
            start = pos
        if start >= end:
            continue
        out.append(_multiline(text[pos:start]))
        out.append(f"<mark>{_multiline(text[start:end])}</mark>")
        pos = end
    out.append(_multiline(text[pos:]))
    return "".join(out)


def answer_text_html(text: str, unsupported: Sequence[str]) -> str:
    """The answer body: escaped, [n] as superscript refs, unsupported numbers/dates flagged."""
    body = _esc(text)
    marks = sorted({_esc(u) for u in unsupported if u.strip()}, key=len, reverse=True)
    if marks:
        pattern = re.compile("|".join(re.escape(m) for m in marks))
        body = pattern.sub(
            lambda m: f'<span class="prag-unsupported" title="未在引用条款中找到依据">{m.group(0)}⚠</span>', body
        )
    body = _REF.sub(r'<sup class="prag-ref">[\1]</sup>', body)
    return body.replace("\r\n", "\n").replace("\n", "<br>")


def validity_badges(chunk: Chunk, today: date) -> list[str]:
    """Badges for a cited notice that is not (or no longer) in force on ``today``."""
    expired, future, closed = lapsed(chunk, today)
    badges = []
    if expired:
        badges.append(f'<span class="prag-badge prag-expired">已失效（有效期至{_esc(chunk.valid_until or "")}）</span>')
    if future:
        badges.append(f'<span class="prag-badge prag-future">尚未施行（{_esc(chunk.valid_from or "")}起施行）</span>')
    if closed:
        badges.append(f'<span class="prag-badge prag-closed">已截止（{_esc(chunk.deadline or "")}）</span>')
    return badges


def citation_card(cite: Citation, context: Sequence[Chunk], today: date) -> str:
    """One citation as a ``<details>`` card: the clause up front, its surroundings on expand."""
    c = cite.chunk
    meta = [x for x in (c.doc_number, c.issuer, c.date, c.page_label) if x]
    meta_html = " · ".join(_esc(x) for x in meta) or "（无文号/发文机关信息）"
    path = " › ".join(c.heading_path[1:] if c.heading_path and c.heading_path[0] in (c.title, f"《{c.title}》")
                      else c.heading_path)
    badges = "".join(validity_badges(c, today))
    if c.ocr:
        badges += '<span class="prag-badge prag-ocr" title="扫描页经文字识别（OCR）得到，可能有误字">OCR识别文字</span>'

    around: list[str] = []
    for ch in context or (c,):
        if ch.chunk_id == c.chunk_id:
            around.append(f'<div class="prag-focus">{highlight(ch.text, cite.quote)}</div>')
        else:
            head = f'<div class="prag-ctx-path">{_esc(" › ".join(ch.heading_path[-1:]))}</div>' if ch.heading_path else ""
            around.append(f'<div class="prag-ctx">{head}{_multiline(ch.text)}</div>')
    return (
        f'<details class="prag-card" data-n="{cite.n}">'
        f'<summary><span class="prag-card-head"><span class="prag-n">[{cite.n}]</span> '
        f'<span class="prag-title">{_esc(c.title)}</span>{badges}</span>'
        f'<span class="prag-card-meta">{meta_html}</span>'
        + (f'<span class="prag-path">{_esc(path)}</span>' if path else "")
        + f'<span class="prag-clause">{highlight(c.text, cite.quote)}</span>'
        f'<span class="prag-expand">展开查看上下文 ▾</span></summary>'
        f'<div class="prag-context"><div class="prag-ctx-label">原文上下文 · {_esc(c.source_file.rsplit("/", 1)[-1])}'
        f'{_esc(" " + c.page_label if c.page_label else "")}</div>'
        f'{"".join(around)}</div></details>'
    )


def answer_html(answer: Answer, contexts: dict[str, Sequence[Chunk]], today: date) -> str:
    """A finished answer: body (or refusal notice), warnings, validity, citation cards, notes."""
    parts: list[str] = []
    if answer.refused:
        head = "ℹ 文件未写明所问内容" if answer.outcome == "not_stated" else "ℹ 未找到依据"
        parts.append(
            f'<div class="prag-refusal"><span class="prag-refusal-head">{head}</span>'
            f'<span class="prag-refusal-text">{answer_text_html(answer.text, ())}</span></div>'
        )
    else:
        parts.append(f'<div class="prag-text">{answer_text_html(answer.text, answer.unsupported)}</div>')
    if answer.unsupported:
        items = "、".join(_esc(u) for u in answer.unsupported)
        parts.append(f'<div class="prag-warn">⚠ 以下数字/日期未在引用条款中找到依据，请核对原文：{items}</div>')
    for line in answer.validity:
        parts.append(f'<div class="prag-validity"><b>时效</b> {_esc(line)}</div>')
    if answer.citations:
        cards = "".join(citation_card(c, contexts.get(c.chunk.chunk_id, ()), today) for c in answer.citations)
        label = "最接近的条款" if answer.refused else "引用条款"
        parts.append(f'<div class="prag-cites"><div class="prag-cites-label">{label}（{len(answer.citations)}）</div>{cards}</div>')
    notes = list(answer.notes)
    if answer.dropped_citations:
        notes.append("已删除无对应条款的引用：" + "、".join(f"[{n}]" for n in answer.dropped_citations))
    foot = "摘录原文" if answer.extractive or answer.backend == "extractive" else f"大模型生成：{answer.backend}"
    if "total" in answer.timings:
        foot += f" · 用时 {answer.timings['total']:.1f} 秒"
    if notes:
        foot += " · " + "；".join(notes)
    parts.append(f'<div class="prag-notes">{_esc(foot)}</div>')
    return f'<div class="prag-answer{" prag-refused" if answer.refused else ""}">{"".join(parts)}</div>'


def error_html(message: str) -> str:
    """A failure inside the pipeline, shown in the chat instead of a bare exception."""
    return f'<div class="prag-error">✖ 出错了：{_esc(message)}</div>'


def add_report_html(files_ok: Sequence[str], errors: Sequence[str], documents: int, chunks: int,
                    replaced: Sequence[str] = ()) -> str:
    """What an upload did: files added, documents they replaced, and each file that was refused and why."""
    parts = []
    if files_ok:
        names = "、".join(_esc(f.rsplit("/", 1)[-1]) for f in files_ok)
        parts.append(f'<div class="prag-add-ok">✔ 已添加 {documents} 份文件、{chunks} 个条款：{names}</div>')
    if replaced:
        parts.append(f'<div class="prag-add-error">↻ 已替换此前上传的同名文件：{_esc("、".join(replaced))}</div>')
    for err in errors:
        parts.append(f'<div class="prag-add-error">✖ {_esc(err)}</div>')
    if not parts:
        parts.append('<div class="prag-add-error">✖ 没有可添加的内容</div>')
    return "".join(parts)


CSS = """
.prag-answer { line-height: 1.65; }
.prag-text sup.prag-ref { color: #2563eb; font-weight: 600; }
.prag-unsupported { background: #fee2e2; border-bottom: 2px dotted #dc2626; color: #991b1b; }
.prag-warn { margin-top: .5em; padding: .35em .6em; background: #fef2f2; border-left: 3px solid #dc2626; color: #991b1b; font-size: .9em; }
.prag-validity { margin-top: .4em; padding: .3em .6em; background: #fffbeb; border-left: 3px solid #d97706; color: #92400e; font-size: .9em; }
.prag-refusal { padding: .6em .8em; background: #eff6ff; border: 1px dashed #60a5fa; border-radius: 8px; color: #1e3a8a; }
.prag-refusal-head { display: block; font-weight: 700; margin-bottom: .25em; }
.prag-error { padding: .5em .8em; background: #fef2f2; border: 1px solid #fca5a5; border-radius: 8px; color: #991b1b; }
.prag-cites { margin-top: .8em; }
.prag-cites-label { font-size: .85em; color: #6b7280; margin-bottom: .3em; }
.prag-card { border: 1px solid #e5e7eb; border-radius: 8px; margin: .4em 0; background: #fafafa; }
.prag-card > summary { list-style: none; cursor: pointer; padding: .5em .7em; display: block; }
.prag-card > summary::-webkit-details-marker { display: none; }
.prag-card-head { display: block; font-weight: 600; }
.prag-n { color: #2563eb; }
.prag-card-meta, .prag-path { display: block; font-size: .82em; color: #6b7280; }
.prag-clause { display: block; margin-top: .35em; padding-left: .6em; border-left: 3px solid #93c5fd; font-size: .92em; max-height: 14em; overflow-y: auto; }
.prag-clause mark, .prag-focus mark { background: #fde68a; color: inherit; padding: 0 1px; }
.prag-expand { display: block; font-size: .8em; color: #2563eb; margin-top: .3em; }
.prag-card[open] .prag-expand { display: none; }
.prag-context { padding: .5em .8em .7em; border-top: 1px dashed #e5e7eb; font-size: .9em; max-height: 26em; overflow-y: auto; }
.prag-ctx-label { font-size: .8em; color: #6b7280; margin-bottom: .3em; }
.prag-ctx { color: #4b5563; margin: .3em 0; }
.prag-ctx-path { font-size: .8em; color: #9ca3af; }
.prag-focus { margin: .3em 0; padding: .3em .5em; background: #eff6ff; border-left: 3px solid #2563eb; }
.prag-badge { display: inline-block; margin-left: .5em; padding: 0 .45em; border-radius: 4px; font-size: .75em; font-weight: 500; vertical-align: middle; }
.prag-expired { background: #fee2e2; color: #991b1b; }
.prag-future { background: #e0e7ff; color: #3730a3; }
.prag-closed { background: #f3f4f6; color: #374151; }
.prag-ocr { background: #fef3c7; color: #92400e; }
.prag-notes { margin-top: .6em; font-size: .75em; color: #9ca3af; }
.prag-add-ok { color: #166534; }
.prag-add-error { overflow-wrap: anywhere; color: #991b1b; background: #fef2f2; padding: .3em .5em; border-radius: 6px; margin-top: .3em; }
.prag-status { font-size: .9em; }
"""
