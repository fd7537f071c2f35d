"""The one pipeline every front end uses: cli, ui and eval all call ``Service``.

It opens the index once, wires embedder → retriever → answerer from one ``Config``, and
serialises index updates (uploads from the UI) behind a lock so readers never see a
half-updated index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.answer import Answerer
from rag.answer.llm import make_chat_model
from rag.config import Config
from rag.embed import Embedder, make_embedder
from rag.index import Index, add_documents, load_index, replaced_by, same_text
from rag.ingest import ingest
from rag.records import Answer
from rag.retrieve import Filters, HybridRetriever

Progress = Callable[[float, str], None]
UPLOADS = "uploads"  # the name space of documents added from the chat


@dataclass(frozen=True)
class AddReport:
    """What adding files from the UI/CLI did; ``errors`` name each bad file and why."""

    files_ok: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    documents_added: int = 0
    chunks_added: int = 0
    replaced: tuple[str, ...] = ()  # 《title》 (source file) of indexed documents these files replaced
    details: dict[str, int] = field(default_factory=dict)


class Service:
    def __init__(self, cfg: Config, index: Index, embedder: Embedder) -> None:
        self.cfg = cfg
        self.embedder = embedder
        self._lock = threading.RLock()
        self._swap(index)

    @classmethod
    def open(cls, cfg: Config, progress: bool = False) -> Service:
        """Open the configured index; ``progress`` reports long embedding runs on stderr (CLI use)."""
        embedder = make_embedder(cfg.embed, progress=progress)
        return cls(cfg, load_index(cfg.index, embedder), embedder)

    def _swap(self, index: Index) -> None:
        retriever = HybridRetriever(index, self.embedder, self.cfg.retrieve)
        answerer = Answerer(retriever, self.embedder, self.cfg, llm=make_chat_model(self.cfg.llm))
        with self._lock:
            self.index, self.retriever, self.answerer = index, retriever, answerer

    @property
    def backend(self) -> str:
        return self.answerer.backend

    def ask(
        self, question: str, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None,
        as_of: date | None = None,
    ) -> Answer:
        return self.answerer.ask(question, history=history, filters=filters, as_of=as_of)

    def stream(
        self, question: str, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None,
        as_of: date | None = None,
    ) -> Iterator[str | Answer]:
        """Text deltas as they are produced, then the final verified ``Answer``."""
        return self.answerer.stream(question, history=history, filters=filters, as_of=as_of)

    def add_files(self, paths: Sequence[str | Path], progress: Progress | None = None,
                  namespace: str = "") -> AddReport:
        """Ingest files and add their documents incrementally; bad files leave the index as it was.

        ``namespace`` (``UPLOADS`` from the chat) names documents ``uploads/<file name>``, so an upload never
        replaces a corpus document; an upload of a name already uploaded replaces it, and the report says so.
        A document whose text the index already holds under another name is skipped, with the reason.
        """
        progress = progress or (lambda _f, _m: None)
        progress(0.0, "解析文件")
        result = ingest(paths, self.cfg, namespace=namespace)
        errors = [str(e) for e in result.errors]
        with self._lock:
            twins = same_text(self.index, result.documents, result.chunks)
            errors += [f"{d.source_file}: 《{d.title}》 与已收录的 {twins[d.doc_id]} 内容相同，未重复添加"
                       for d in result.documents if d.doc_id in twins]
            documents = [d for d in result.documents if d.doc_id not in twins]
            chunks = [c for c in result.chunks if c.doc_id not in twins]
            if not chunks:
                return AddReport(errors=tuple(errors) or ("没有可添加的内容",))
            replaced = tuple(f"《{d.title}》（{d.source_file}）" for d in replaced_by(self.index, documents))
            progress(0.3, f"向量化 {len(chunks)} 个条款")
            index = add_documents(self.cfg.index, self.embedder, documents, chunks)
            self._swap(index)
        progress(1.0, "完成")
        ok = tuple(sorted({d.source_file for d in documents}))
        return AddReport(files_ok=ok, errors=tuple(errors), documents_added=len(documents), chunks_added=len(chunks),
                         replaced=replaced)

    def status(self) -> dict[str, object]:
        m = self.index.manifest
        return {
            "documents": len(self.index.documents),
            "chunks": len(self.index.chunks),
            "embedder": m.get("embedder"),
            "backend": self.backend,
            "index": str(self.cfg.index.path),
            "built": m.get("built_at"),
        }
