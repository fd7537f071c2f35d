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
from rag.index import Index, add_documents, load_index
from rag.ingest import ingest
from rag.records import Answer
from rag.retrieve import Filters, HybridRetriever

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class AddReport:
    """What adding files from the UI/CLI did; ``errors`` name each bad file and why."""

    files_ok: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    documents_added: int = 0
    chunks_added: int = 0
    details: dict[str, int] = field(default_factory=dict)


class Service:
    def __init__(self, cfg: Config, index: Index, embedder: Embedder) -> None:
        self.cfg = cfg
        self.embedder = embedder
        self._lock = threading.RLock()
        self._swap(index)

    @classmethod
    def open(cls, cfg: Config) -> Service:
        embedder = make_embedder(cfg.embed)
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

    def add_files(self, paths: Sequence[str | Path], progress: Progress | None = None) -> AddReport:
        """Ingest files and add their documents incrementally; bad files leave the index as it was."""
        progress = progress or (lambda _f, _m: None)
        progress(0.0, "解析文件")
        result = ingest(paths, self.cfg)
        errors = tuple(str(e) for e in result.errors)
        if not result.chunks:
            return AddReport(errors=errors or ("没有可添加的内容",))
        progress(0.3, f"向量化 {len(result.chunks)} 个条款")
        with self._lock:
            index = add_documents(self.cfg.index, self.embedder, result.documents, result.chunks)
            self._swap(index)
        progress(1.0, "完成")
        ok = tuple(sorted({d.source_file for d in result.documents}))
        return AddReport(files_ok=ok, errors=errors, documents_added=len(result.documents),
                         chunks_added=len(result.chunks))

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
