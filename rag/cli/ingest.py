"""``policy-rag ingest`` (check files; optionally export chunks as JSONL) and ``policy-rag inspect`` (the split).

A bad file prints one line naming it and the reason; the other files are still ingested,
and the exit status is non-zero so scripts notice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from rag.config import Config
from rag.ingest import IngestResult


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ingest", help="read, clean and split files without indexing them: a summary, "
                                             "optionally the chunks as JSONL for other tools")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: cfg.corpus)")
    p.add_argument("--out", help="export the chunks as JSONL here (index build does not need this)")
    p.add_argument("--documents", help="also write the documents as JSONL")
    p.add_argument("--report", help="write every dropped span (file, offsets, reason, text)")
    p.set_defaults(func=run_ingest)
    q = subparsers.add_parser("inspect", help="show the documents found in each file, to check the split")
    q.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: cfg.corpus)")
    q.set_defaults(func=run_inspect)


def _run(paths: list[str], cfg: Config) -> IngestResult:
    from rag.service import Service

    result = Service.ingest(cfg, paths or [cfg.corpus], progress=True)
    for err in result.errors:
        print(f"policy-rag: error: {err}", file=sys.stderr)
    return result


def _write_jsonl(path: str, records: Iterable[dict]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def summary(result: IngestResult) -> str:
    noise = sum(f.noise_chars for f in result.files)
    dup = sum(f.duplicate_chars for f in result.files)
    failed = len({e.path for e in result.errors})
    return (
        f"files ok: {len(result.files)}, failed: {failed}; documents: {len(result.documents)}; "
        f"chunks: {len(result.chunks)}; duplicates removed: {result.duplicates_removed} ({dup} chars); "
        f"noise chars: {noise}"
    )


def report_text(result: IngestResult) -> str:
    """Per file: counts, then every removed span with its reason and text."""
    lines = []
    for f in result.files:
        lines.append(
            f"# {f.source_file}: {f.chars} chars, {f.documents} documents, {f.chunks} chunks, "
            f"noise {f.noise_chars}, duplicate {f.duplicate_chars}"
            + (f", {f.pages} pages" if f.pages else "")
            + (f", OCR on pages {', '.join(map(str, f.ocr_pages))}" if f.ocr_pages else "")
        )
        lines += [f"# {f.source_file}: {note}" for note in f.notes]
        for r in f.removed:
            lines.append(f"{f.source_file}\t{r.start}\t{r.end}\t{r.reason}\t{json.dumps(r.text, ensure_ascii=False)}")
    for d in result.documents:
        lines += [f"# unparsed: {d.source_file} 《{d.title}》: {why}" for why in d.unparsed]
    for c in result.chunks:
        lines += [f"# instruction-like text (kept as data, never quoted as an answer): {c.source_file}:"
                  f"{c.char_start}-{c.char_end} {json.dumps(s, ensure_ascii=False)}" for s in c.instructions]
    for err in result.errors:
        lines.append(f"# error: {err}")
    return "\n".join(lines) + "\n"


def run_ingest(args: argparse.Namespace, cfg: Config) -> int:
    result = _run(args.paths, cfg)
    if args.out:
        _write_jsonl(args.out, (c.to_dict() for c in result.chunks))
    if args.documents:
        _write_jsonl(args.documents, (d.to_dict() for d in result.documents))
    if args.report:
        Path(args.report).write_text(report_text(result), encoding="utf-8")
    print(summary(result))
    return 1 if result.errors else 0


def run_inspect(args: argparse.Namespace, cfg: Config) -> int:
    result = _run(args.paths, cfg)
    chunks_per_doc: dict[str, int] = {}
    for c in result.chunks:
        chunks_per_doc[c.doc_id] = chunks_per_doc.get(c.doc_id, 0) + 1
    titles = {d.doc_id: d.title for d in result.documents}
    for f in result.files:
        print(f"{f.source_file}: {f.documents} documents, {f.chunks} chunks, noise {f.noise_chars}, duplicate {f.duplicate_chars}")
        for d in (d for d in result.documents if d.source_file == f.source_file):
            validity = " ".join(
                f"{k}={v}" for k, v in (("from", d.valid_from), ("until", d.valid_until), ("deadline", d.deadline)) if v
            )
            if d.notice_period:
                validity += f" 公示={d.notice_period[0]}~{d.notice_period[1]}"
            parent = f"  ↳ child of 《{titles.get(d.parent_id, d.parent_id)}》" if d.parent_id else ""
            print(f"  [{d.kind}] 《{d.title}》 offsets {d.char_start}-{d.char_end}")
            print(
                f"      文号={d.doc_number or '-'} issuer={d.issuer or '-'} date={d.date or '-'} "
                f"{validity or 'validity=-'} chunks={chunks_per_doc.get(d.doc_id, 0)}{parent}"
            )
    print(summary(result))
    return 1 if result.errors else 0
