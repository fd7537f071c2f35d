"""``policy-rag ask`` (one question) and ``policy-rag chat`` (terminal multi-turn chat).

Both open the one ``Service`` and print the answer followed by its numbered citations
(title, 文号, heading path, source file:char range, quoted sentence) and any validity,
unsupported-fact or fallback notes, so a reader can check every claim at its source.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import TYPE_CHECKING, TextIO

from rag.answer.context import clause_path
from rag.config import Config
from rag.records import Answer

if TYPE_CHECKING:  # imported lazily at run time: `policy-rag ask --help` should not load faiss
    from rag.service import Service
    from rag.store import Filters

EXIT_WORDS = {"exit", "quit", "退出", "再见"}


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=_iso_date, help="judge validity/deadlines as of this date (default: today)")
    p.add_argument("--doc", action="append", default=[], metavar="ID", help="only this document id (repeatable)")
    p.add_argument("--issuer", help="only documents whose issuer contains this text")
    p.add_argument("--year", type=int, help="only documents signed in this year")
    p.add_argument("-k", type=int, help="clauses to retrieve (default: retrieve.k)")


def register(subparsers: argparse._SubParsersAction) -> None:
    ask = subparsers.add_parser("ask", help="answer one question with clause citations")
    ask.add_argument("question", help="the question, in Chinese")
    ask.add_argument("--json", action="store_true", help="print the Answer record as JSON")
    _add_common(ask)
    ask.set_defaults(func=run_ask)
    chat = subparsers.add_parser("chat", help="multi-turn chat in the terminal (stdin lines; exit or EOF ends)")
    _add_common(chat)
    chat.set_defaults(func=run_chat)


def _filters(service: Service, args: argparse.Namespace) -> Filters | None:
    return service.filters(doc_ids=tuple(args.doc), issuer=args.issuer, year=str(args.year or ""))


def _open(args: argparse.Namespace, cfg: Config) -> Service:
    from rag.service import Service

    return Service.open(cfg.replace("retrieve", k=args.k) if args.k else cfg)


def format_details(answer: Answer) -> str:
    """Everything after the answer text: citations, validity, unsupported facts, notes, backend."""
    lines: list[str] = []
    if answer.citations:
        lines.append("最接近的条款（文件未写明所问内容）：" if answer.outcome == "not_stated" else
                     "检索到的最接近条款：" if answer.refused else "引用：")
    for c in answer.citations:
        ch = c.chunk
        lines.append(f"[{c.n}] 《{ch.title.strip('《》')}》" + (f"（{ch.doc_number}）" if ch.doc_number else ""))
        if clause_path(ch):
            lines.append(f"    条款：{clause_path(ch)}")
        page = f" {ch.page_label}" + ("（OCR识别文字）" if ch.ocr else "") if ch.pages else ""
        lines.append(f"    出处：{ch.source_file}{page}:{ch.char_start}-{ch.char_end}")
        lines.append(f"    原文：“{c.quote}”")
    if answer.validity:
        lines.append("有效性：")
        lines.extend(f"  - {v}" for v in answer.validity)
    if answer.unsupported:
        lines.append("⚠ 以下数字/日期/文号未在所引条款中找到，请核实：" + "、".join(answer.unsupported))
    if answer.dropped_citations:
        lines.append("⚠ 已删除指向不存在条款的引用：" + "".join(f"[{n}]" for n in answer.dropped_citations))
    lines.extend(f"说明：{n}" for n in answer.notes)
    lines.append(f"（{answer.backend}，用时 {answer.timings.get('total', 0.0):.2f} 秒）")
    return "\n".join(lines)


def format_answer(answer: Answer) -> str:
    return f"{answer.text}\n\n{format_details(answer)}"


def _open_or_say_why(args: argparse.Namespace, cfg: Config) -> Service | None:
    """The service, or None after one line on stderr saying why the index cannot be opened (no traceback)."""
    try:
        return _open(args, cfg)
    except (FileNotFoundError, ValueError) as exc:  # IndexNotFoundError, IndexMismatchError, EmbedderError
        print(f"policy-rag: {exc}", file=sys.stderr)
        return None


def run_ask(args: argparse.Namespace, cfg: Config, out: TextIO = sys.stdout) -> int:
    service = _open_or_say_why(args, cfg)
    if service is None:
        return 1
    answer = service.ask(args.question, filters=_filters(service, args), as_of=args.as_of)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2), file=out)
    else:
        print(format_answer(answer), file=out)
    return 0


def run_chat(args: argparse.Namespace, cfg: Config, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """Stream each answer as it is produced; if verification changed the text, print the checked text."""
    service = _open_or_say_why(args, cfg)
    if service is None:
        return 1
    filters = _filters(service, args)
    history: list[tuple[str, str]] = []
    print(f"政策问答（{service.backend}）。输入问题，exit 或 Ctrl-D 退出。", file=out)
    while True:
        print("问> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            print(file=out)
            return 0
        question = line.strip()
        if not question:
            continue
        if question.lower() in EXIT_WORDS:
            return 0
        streamed: list[str] = []
        answer: Answer | None = None
        for item in service.stream(question, history=history, filters=filters, as_of=args.as_of):
            if isinstance(item, Answer):
                answer = item
            else:
                streamed.append(item)
                print(item, end="", file=out, flush=True)
        assert answer is not None
        if "".join(streamed).strip() != answer.text.strip():
            print(f"\n\n核对后的回答：\n{answer.text}", file=out)
        if answer.standalone_question != question:
            print(f"\n（理解为：{answer.standalone_question}）", file=out)
        print(f"\n\n{format_details(answer)}\n", file=out)
        history.append((question, answer.text))
