"""``policy-rag index build|add|remove|status`` and ``policy-rag search``.

Every failure prints one clear line (what went wrong, and the command that fixes it) to
stderr and returns a non-zero exit status; nothing here prints a traceback for user errors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from rag.config import Config


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("index", help="build or update the search index")
    sub = p.add_subparsers(dest="index_command", required=True, metavar="SUBCOMMAND")
    b = sub.add_parser("build", help="(re)build the index from files or folders (default: the corpus)")
    b.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: cfg.corpus)")
    b.add_argument("--report", metavar="FILE", help="also write the ingest report (every removed span, flags, errors)")
    b.set_defaults(func=build)
    a = sub.add_parser("add", help="add or replace notices (same file or document id); only new text is embedded")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a.set_defaults(func=add)
    r = sub.add_parser("remove", help="remove documents by document id, source file path or file name")
    r.add_argument("keys", nargs="+", metavar="DOC_ID|FILE")
    r.set_defaults(func=remove)
    v = sub.add_parser("seed-vectors", help="rewrite the shipped vectors of the bundled corpus (after a chunker change)")
    v.set_defaults(func=seed_vectors)
    s = sub.add_parser("status", help="what the index holds")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=status)

    q = subparsers.add_parser("search", help="retrieve clauses for a question (no answer generation)")
    q.add_argument("query", help="the question, e.g. \"算力券每年总额是多少\"")
    q.add_argument("-k", type=int, default=None, help="number of hits (default: cfg.retrieve.k)")
    q.add_argument("--json", action="store_true", help="print hits as JSON")
    q.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    q.add_argument("--doc", action="append", default=[], metavar="DOC_ID", help="only these documents (repeatable)")
    q.add_argument("--issuer", help="only documents whose issuer contains this text")
    q.add_argument("--year", type=int, help="only documents signed in this year")
    q.add_argument("--file", help="only this source file (path or name)")
    q.set_defaults(func=search)


def _fail(message: str) -> int:
    print(f"policy-rag: {message}", file=sys.stderr)
    return 1


def _open(cfg: Config, create: bool = False, replace: bool = False):
    from rag.service import Service

    return Service.open(cfg, progress=True, create=create, replace=replace)


def _errors(result) -> None:
    for err in result.errors:
        print(f"policy-rag: skipped: {err}", file=sys.stderr)


def _run(action, cfg: Config) -> int:
    """Run an index action, turning the expected failures into one line and exit status 1."""
    from rag.embed import EmbedderError
    from rag.retrieve import QueryError
    from rag.store import StoreError, StoreMismatchError, StoreNotFoundError

    try:
        return action()
    except (StoreNotFoundError, StoreMismatchError, StoreError, QueryError, EmbedderError) as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(f"not found: {exc.filename or exc}")


def build(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        started = time.perf_counter()
        service = _open(cfg, replace=True)
        print(f"building the {cfg.store.backend} store with {service.embedder.id} "
              "(texts already in the vector cache are not embedded again) …", flush=True)
        built = service.build(args.paths or [cfg.corpus], progress=True)
        _errors(built.ingest)
        if args.report:
            from rag.cli.ingest import report_text

            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            Path(args.report).write_text(report_text(built.ingest), encoding="utf-8")
        if not built.chunks:
            return _fail("nothing to index: no readable notices in " + " ".join(args.paths or [cfg.corpus]))
        st = service.status()
        print(f"index {st['index']}: {built.documents} documents, {built.chunks} chunks, "
              f"{st['detail'].get('index_type')}, {service.embedder.id}, {time.perf_counter() - started:.1f} s")
        return 0

    return _run(action, cfg)


def add(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        service = _open(cfg, create=True)
        report = service.add_files(args.paths, cli_progress=True)
        for err in report.errors:
            print(f"policy-rag: skipped: {err}", file=sys.stderr)
        for r in report.replaced:
            print(f"replaced {r}")
        if not report.chunks_added:
            return _fail("nothing to add: no new readable notices in " + " ".join(args.paths))
        st = service.status()
        print(f"added {report.documents_added} documents ({report.chunks_added} chunks, {report.embedded} new or "
              f"changed texts embedded); index now {st['documents']} documents, {st['chunks']} chunks")
        return 0

    return _run(action, cfg)


def remove(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        service = _open(cfg)
        gone = service.remove(args.keys)
        st = service.status()
        print(f"removed {len(gone)} documents; index now {st['documents']} documents, {st['chunks']} chunks")
        return 0

    return _run(action, cfg)


def seed_vectors(args: argparse.Namespace, cfg: Config) -> int:
    """Embed (or take from the cache) every text of the bundled corpus and write ``cfg.embed.seed_dir``."""
    def action() -> int:
        from rag.embed import make_embedder
        from rag.seed import write_seed

        folder, n = write_seed(cfg, make_embedder(cfg.embed, progress=True))
        print(f"wrote {n} vectors to {folder}/ (keys.txt, vectors.npy)")
        return 0

    return _run(action, cfg)


def status(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        st = _open(cfg, create=True).store.status()
        if args.json:
            print(json.dumps(st, ensure_ascii=False, indent=1))
        elif not st["exists"]:
            print(st["message"])
        else:
            counts = st["counts"]
            size = f", {st['bytes'] / 1e6:.1f} MB" if "bytes" in st else ""
            print(f"index {st['path']} ({st['backend']}): {counts['documents']} documents, {counts['chunks']} chunks, "
                  f"{st['index_type']}, embedder {st['embedder']['id']} (dim {st['embedder']['dim']}), "
                  f"chunker {st['chunker_version']}, built {st['built_at']}{size}")
            for source, n in sorted(Counter(st["documents"].values()).items()):
                print(f"  {source}: {n} documents")
        return 0 if st["exists"] else 1

    return _run(action, cfg)


def search(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        service = _open(cfg)
        filters = service.filters(doc_ids=tuple(args.doc), issuer=args.issuer, year=str(args.year or ""),
                                  source_file=args.file)
        result = service.search(args.query, args.k, filters, mode=args.mode)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        if args.json:
            print(json.dumps({"query": result.query, "notes": list(result.notes),
                              "hits": [h.to_dict() for h in result.hits]}, ensure_ascii=False, indent=1))
            return 0
        if not result.hits:
            print("没有找到相关条款 (no hits)")
        for h in result.hits:
            c = h.chunk
            scores = " ".join(f"{k}={v:.3f}" for k, v in h.scores.items())
            print(f"[{h.rank}] {h.score:.4f}  {c.path or c.title}  ({c.doc_number or '无文号'})")
            print(f"    {c.source_file}:{c.char_start}-{c.char_end}  {scores}")
            print(f"    {c.text[:160]}{'…' if len(c.text) > 160 else ''}")
        return 0

    return _run(action, cfg)
