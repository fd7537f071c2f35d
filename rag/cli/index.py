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
from collections.abc import Sequence
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


def _ingest(paths: Sequence[str], cfg: Config):
    from rag.ingest import ingest

    result = ingest(list(paths), cfg, progress=True)
    for err in result.errors:
        print(f"policy-rag: skipped: {err}", file=sys.stderr)
    return result


def _progress(embedder, chunks) -> None:
    from rag.sentences import quotable_units

    units = [u.strip() for c in chunks for _, u in quotable_units(c.text)]
    texts = [c.embed_text() for c in chunks] + units
    todo = embedder.missing(texts) if hasattr(embedder, "missing") else len(texts)
    print(f"embedding {todo} of {len(texts)} texts ({len(chunks)} chunks + {len(units)} sentence units) "
          f"with {embedder.id} (the rest are cached) …", flush=True)


def _run(action, cfg: Config) -> int:
    """Run an index action, turning the expected failures into one line and exit status 1."""
    from rag.embed import EmbedderError
    from rag.index import IndexMismatchError, IndexNotFoundError, IndexUpdateError
    from rag.retrieve import QueryError

    try:
        return action()
    except (IndexNotFoundError, IndexMismatchError, IndexUpdateError, QueryError, EmbedderError) as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(f"not found: {exc.filename or exc}")


def build(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        from rag.embed import make_embedder
        from rag.index import build_index

        started = time.perf_counter()
        result = _ingest(args.paths or [cfg.corpus], cfg)
        if args.report:
            from rag.cli.ingest import report_text

            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            Path(args.report).write_text(report_text(result), encoding="utf-8")
        if not result.chunks:
            return _fail("nothing to index: no readable notices in " + " ".join(args.paths or [cfg.corpus]))
        embedder = make_embedder(cfg.embed, progress=True)
        _progress(embedder, result.chunks)
        index = build_index(cfg.index, embedder, result.documents, result.chunks)
        print(f"index {cfg.index.path}: {len(index.documents)} documents, {len(index.chunks)} chunks, "
              f"{index.manifest['index_type']}, {embedder.id}, {time.perf_counter() - started:.1f} s")
        return 0

    return _run(action, cfg)


def add(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        from rag.embed import make_embedder
        from rag.index import IndexNotFoundError, load_index, replaced_by, same_text, update_documents

        result = _ingest(args.paths, cfg)
        embedder = make_embedder(cfg.embed, progress=True)
        documents, chunks = result.documents, result.chunks
        try:
            current = load_index(cfg.index, embedder)
        except IndexNotFoundError:
            current = None
        if current is not None:
            twins = same_text(current, documents, chunks)
            for d in documents:
                if d.doc_id in twins:
                    print(f"policy-rag: skipped: {d.source_file}: 《{d.title}》 has the same text as {twins[d.doc_id]}, "
                          "already indexed", file=sys.stderr)
            documents = [d for d in documents if d.doc_id not in twins]
            chunks = [c for c in chunks if c.doc_id not in twins]
            for d in replaced_by(current, documents):
                print(f"replacing {d.source_file} 《{d.title}》")
        if not chunks:
            return _fail("nothing to add: no new readable notices in " + " ".join(args.paths))
        index, embedded = update_documents(cfg.index, embedder, documents, chunks)
        print(f"added {len(documents)} documents ({len(chunks)} chunks, {embedded} new or changed texts embedded); "
              f"index now {len(index.documents)} documents, {len(index.chunks)} chunks")
        return 0

    return _run(action, cfg)


def remove(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        from rag.embed import make_embedder
        from rag.index import load_index, remove_documents

        embedder = make_embedder(cfg.embed, progress=True)
        before = len(load_index(cfg.index, embedder).documents)
        index = remove_documents(cfg.index, embedder, args.keys)
        print(f"removed {before - len(index.documents)} documents; "
              f"index now {len(index.documents)} documents, {len(index.chunks)} chunks")
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
    from rag.index import index_status

    st = index_status(cfg.index)
    if args.json:
        print(json.dumps(st, ensure_ascii=False, indent=1))
    elif not st["exists"]:
        print(st["message"])
    else:
        counts = st["counts"]
        print(f"index {st['path']}: {counts['documents']} documents, {counts['chunks']} chunks, {st['index_type']}, "
              f"embedder {st['embedder']['id']} (dim {st['embedder']['dim']}), chunker {st['chunker_version']}, "
              f"built {st['built_at']}, {st['bytes'] / 1e6:.1f} MB")
        for source, n in sorted(Counter(st["documents"].values()).items()):
            print(f"  {source}: {n} documents")
    return 0 if st["exists"] else 1


def search(args: argparse.Namespace, cfg: Config) -> int:
    def action() -> int:
        from rag.embed import make_embedder
        from rag.index import load_index
        from rag.retrieve import Filters, HybridRetriever

        embedder = make_embedder(cfg.embed, progress=True)
        retriever = HybridRetriever(load_index(cfg.index, embedder), embedder, cfg.retrieve, mode=args.mode)
        filters = Filters(doc_ids=tuple(args.doc), issuer=args.issuer, year=args.year, source_file=args.file)
        result = retriever.retrieve(args.query, args.k, filters)
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
