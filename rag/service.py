"""The one door to the pipeline: cli, ui, eval and bench call ``Service`` and nothing below it.

``Service`` reads files (ingest), writes them to the store (build, add, remove), searches, answers
(ask, stream), and serves what front ends show (documents, neighbours, filter choices, status) and
keep (feedback).  It opens the configured store once, wires embedder -> store -> retriever ->
answerer from one ``Config``, and serialises writes behind a lock: a reader holds one
(retriever, answerer) pair for a whole question, and a write swaps in a new pair when it is done.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rag.answer import Answerer
from rag.answer.answerability import AnswerabilityModel
from rag.answer.llm import make_chat_model
from rag.config import Config
from rag.embed import Embedder, make_embedder
from rag.ingest import IngestResult, ingest
from rag.lexical import PolicyTokenizer
from rag.records import Answer, Chunk, Document
from rag.retrieve import HybridRetriever, Mode, QueryError, Retrieval
from rag.store import Filters, Store, replaced_by, same_text
from rag.store.factory import make_store

Progress = Callable[[float, str], None]
UPLOADS = "uploads"  # the name space of documents added from the chat
ALL = "全部"  # the "no restriction" choice of every filter
NO_DOCUMENT = "none"  # a document id nothing has: a filter on a title no longer stored matches nothing


@dataclass(frozen=True)
class AddReport:
    """What adding files did; ``errors`` name each bad file and why."""

    files_ok: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    documents_added: int = 0
    chunks_added: int = 0
    replaced: tuple[str, ...] = ()  # 《title》 (source file) of stored documents these files replaced
    embedded: int = 0  # texts that had to be embedded (the rest came from the vector cache)


@dataclass(frozen=True)
class BuildReport:
    """What a full build did: the ingest result (with its per-file report) and what is stored now."""

    ingest: IngestResult
    documents: int
    chunks: int


@dataclass(frozen=True)
class FilterChoices:
    """What the filter controls offer: titles, issuers and years present in the store."""

    titles: tuple[str, ...]
    issuers: tuple[str, ...]
    years: tuple[str, ...]


WARM_UP_QUESTION = "个体工商户转型为企业有哪些支持政策？"


class Service:
    def __init__(self, cfg: Config, store: Store, embedder: Embedder) -> None:
        self.cfg = cfg
        self.embedder = embedder
        self.store = store
        self._lock = threading.RLock()
        self._feedback_lock = threading.Lock()
        # one question-word tokenizer for every retriever this service makes, a swap after each write
        # included: its jieba dictionary loads once, on the first question or in :meth:`warm`
        self._words = PolicyTokenizer()
        self._swap()

    @classmethod
    def open(cls, cfg: Config, progress: bool = False, create: bool = False, replace: bool = False) -> Service:
        """Open the configured store; ``create`` starts an empty one if nothing is built (first add);
        ``replace`` neither reads nor checks what is stored, for a :meth:`build` that replaces it.

        ``progress`` reports long embedding runs on stderr (CLI use).
        """
        embedder = make_embedder(cfg.embed, progress=progress)
        return cls(cfg, make_store(cfg, embedder, create=create, replace=replace), embedder)

    def _swap(self) -> None:
        retriever = HybridRetriever(self.store, self.embedder, self.cfg.retrieve, words=self._words)
        answerer = Answerer(retriever, self.embedder, self.cfg, llm=make_chat_model(self.cfg.llm))
        with self._lock:
            self.retriever, self.answerer = retriever, answerer

    # ------------------------------------------------------------------ questions

    def warm(self) -> None:
        """Load what the first question would otherwise wait for (about 2 s: jieba's dictionary, the
        answerability model, the retrieval and scoring path) by scoring one question; never calls an LLM.

        A server calls it in the background once it has started: at :meth:`open` it would only slow the
        open, since the loads hold the GIL.
        """
        self.answerer.features(WARM_UP_QUESTION)
        self.answerer.model  # noqa: B018  (loaded on first use)

    @property
    def answerability(self) -> AnswerabilityModel:
        """The fitted answerability model in use (its digest goes into evaluation's calibration record)."""
        return self.answerer.model

    @property
    def backend(self) -> str:
        """Who writes answers: ``extractive`` or the configured LLM."""
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

    def standalone(self, question: str, history: Sequence[tuple[str, str]] = ()) -> str:
        """The question a follow-up stands for, as :meth:`ask` retrieves with it (the LLM's rewrite when one is
        configured, else the rule-based one); the question itself without history."""
        return self.answerer.standalone(question, history)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: Mode = "hybrid") -> Retrieval:
        """Clauses for a query without an answer; ``mode`` ``dense``/``bm25`` runs one leg alone."""
        retriever = self.retriever if mode == "hybrid" else self.retriever_for(mode)
        return retriever.retrieve(query, k, filters)

    def retriever_for(self, mode: Mode, reranker: bool = True) -> HybridRetriever:
        """A retriever over the same store in another mode (evaluation's single-leg baselines)."""
        cfg = self.cfg.retrieve if reranker else self.cfg.replace("retrieve", reranker="").retrieve
        return HybridRetriever(self.store, self.embedder, cfg, mode=mode, words=self._words)

    def answerability_features(self, question: str, history: Sequence[tuple[str, str]] = ()) -> dict[str, float]:
        """The answerability features of a question (what ``--fit-answerability`` fits on; needs no fitted model)."""
        return self.answerer.features(question, history)

    # ------------------------------------------------------------------ what front ends show

    def documents(self) -> list[Document]:
        return self.store.documents()

    def neighbours(self, chunk: Chunk, n: int) -> list[Chunk]:
        """The clause with up to ``n`` neighbours either side, in reading order (for an expanded citation)."""
        around = self.store.neighbours(chunk.chunk_id, n)
        if all(c.chunk_id != chunk.chunk_id for c in around):
            around = sorted([*around, chunk], key=lambda c: c.ordinal)
        return around

    def filter_choices(self) -> FilterChoices:
        docs = self.store.documents()
        return FilterChoices(tuple(sorted({d.title for d in docs if d.title})),
                             tuple(sorted({d.issuer for d in docs if d.issuer})),
                             tuple(sorted({d.date[:4] for d in docs if d.date}, reverse=True)))

    def filters(self, title: str | None = None, issuer: str | None = None, year: str | None = None,
                source_file: str | None = None, doc_ids: Sequence[str] = ()) -> Filters | None:
        """Filters from a front end's choices (``ALL`` or empty = no restriction); None when nothing is chosen.

        A title picks every document of that title; a title no stored document has matches nothing.
        """
        picked = lambda v: v if v and v != ALL else None  # noqa: E731
        ids = tuple(doc_ids)
        if picked(title):
            ids += tuple(d.doc_id for d in self.store.documents() if d.title == title) or (NO_DOCUMENT,)
        year_ = picked(year)
        if year_ and not year_.isdigit():
            raise QueryError(f"年份应为数字：{year_!r} (year must be a number)")
        f = Filters(doc_ids=ids, issuer=picked(issuer), year=int(year_) if year_ else None,
                    source_file=picked(source_file))
        return f or None

    def status(self) -> dict[str, Any]:
        s = self.store.status()
        counts = s.get("counts") or {}
        return {
            "documents": counts.get("documents", 0),
            "chunks": counts.get("chunks", 0),
            "embedder": s.get("embedder"),
            "backend": self.backend,
            "store": s.get("backend"),
            "index": s.get("path"),
            "built": s.get("built_at"),
            "detail": s,
        }

    def feedback(self, record: dict[str, Any]) -> Path:
        """Append one 👍/👎 record (JSON line) beside the index; returns the file."""
        path = self.cfg.index.feedback_path
        line = json.dumps(record, ensure_ascii=False)
        with self._feedback_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        return path

    # ------------------------------------------------------------------ files in, files out

    @staticmethod
    def ingest(cfg: Config, paths: Sequence[str | Path], namespace: str = "", progress: bool = False) -> IngestResult:
        """Read and chunk files without storing them (``policy-rag ingest``/``inspect``; per-file errors inside).

        Static: checking how files split needs no store and no embedder.
        """
        return ingest(paths, cfg, namespace=namespace, progress=progress)

    def build(self, paths: Sequence[str | Path], progress: bool = False) -> BuildReport:
        """Replace the store's contents with exactly these files (switched in at once when complete)."""
        return self.build_from(self.ingest(self.cfg, paths, progress=progress))

    def build_from(self, result: IngestResult) -> BuildReport:
        """:meth:`build` from files already ingested (a caller that timed or inspected the ingest)."""
        if result.chunks:
            with self._lock:
                self.store.rebuild(result.documents, result.chunks)
                self._swap()
        return BuildReport(result, len(result.documents) if result.chunks else 0, len(result.chunks))

    def add_files(self, paths: Sequence[str | Path], progress: Progress | None = None,
                  namespace: str = "", cli_progress: bool = False) -> AddReport:
        """Ingest files and add their documents incrementally; bad files leave the store as it was.

        ``namespace`` (``UPLOADS`` from the chat) names documents ``uploads/<file name>``, so an upload never
        replaces a corpus document; an upload of a name already uploaded replaces it, and the report says so.
        A document whose text the store already holds under another name is skipped, with the reason.
        """
        progress = progress or (lambda _f, _m: None)
        progress(0.0, "解析文件")
        result = self.ingest(self.cfg, paths, namespace=namespace, progress=cli_progress)
        errors = [str(e) for e in result.errors]
        with self._lock:
            twins = same_text(self.store.content_keys(), result.documents, result.chunks)
            errors += [f"{d.source_file}: 《{d.title}》 与已收录的 {twins[d.doc_id]} 内容相同，未重复添加"
                       for d in result.documents if d.doc_id in twins]
            documents = [d for d in result.documents if d.doc_id not in twins]
            chunks = [c for c in result.chunks if c.doc_id not in twins]
            if not chunks:
                return AddReport(errors=tuple(errors) or ("没有可添加的内容",))
            replaced = tuple(f"《{d.title}》（{d.source_file}）" for d in replaced_by(self.store.documents(), documents))
            progress(0.3, f"向量化 {len(chunks)} 个条款")
            embedded = self.store.upsert(documents, chunks)
            self._swap()
        progress(1.0, "完成")
        ok = tuple(sorted({d.source_file for d in documents}))
        return AddReport(files_ok=ok, errors=tuple(errors), documents_added=len(documents), chunks_added=len(chunks),
                         replaced=replaced, embedded=embedded)

    def add_uploads(self, uploads: Sequence[Path], progress: Progress | None = None) -> AddReport:
        """Files uploaded in the chat: kept under ``<index root>/uploads/<batch>/`` (Gradio cleans its temp
        folder), added as ``uploads/<name>``; refused files are deleted again and errors name files, not folders."""
        batch = Path(self.cfg.index.root) / UPLOADS / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        batch.mkdir(parents=True, exist_ok=True)
        kept = []
        for up in uploads:
            shutil.copyfile(up, batch / up.name)
            kept.append(batch / up.name)
        def discard(added: set[str]) -> None:
            for p in kept:
                if f"{UPLOADS}/{p.name}" not in added:
                    p.unlink(missing_ok=True)
            if not any(batch.iterdir()):
                batch.rmdir()

        try:
            report = self.add_files(kept, progress, namespace=UPLOADS)
        except BaseException:
            discard(set())
            raise
        discard(set(report.files_ok))
        errors = []
        for e in report.errors:
            for p in kept:
                e = e.replace(str(p), p.name)
            errors.append(e)
        return dataclasses.replace(report, errors=tuple(errors))

    def remove(self, keys: Sequence[str]) -> list[Document]:
        """Remove documents by doc id, source file path or bare file name (ambiguous names are refused)."""
        with self._lock:
            gone = self.store.delete(keys)
            self._swap()
        return gone
