"""Baselines run on the same questions as the pipeline, so the side-by-side table is fair.

- BM25-only and dense-only: the project's own single retrievers (retrieval metrics only).
- A plain LangChain pipeline, the thing this project has to beat: the raw corpus files cut
  by ``RecursiveCharacterTextSplitter`` (~500 chars, default separators), embedded with the
  *same* embedder through its LangChain adapter (so its vectors land in the shared vector
  cache and are paid once per machine), an ``InMemoryVectorStore`` for top-k, and for an
  "answer" the best sentences of the top chunk, so key-fact recall compares like for like.
  The top chunk counts as its one citation (the answer is quoted from it), so citation
  precision compares too; it never refuses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.evaluation.runner import CitedClause, Retrieved, RetrieverSystem, SystemRun
from rag.sentences import bigrams, split_sentences
from rag.textnorm import fold

if TYPE_CHECKING:
    from rag.service import Service



def best_sentences(question: str, text: str, n: int = 3) -> str:
    """The ``n`` sentences of ``text`` sharing most character bigrams with the question, in text order."""
    flat = re.sub(r"\s*\n\s*", "", text)
    sentences = [s.strip() for s in split_sentences(flat) if s.strip()]
    q = bigrams(fold(question))
    ranked = sorted(range(len(sentences)), key=lambda i: (-len(q & bigrams(fold(sentences[i]))), i))
    return "".join(sentences[i] for i in sorted(ranked[:n]))


def split_files(files: Sequence[tuple[str, str]], chunk_size: int = 500, chunk_overlap: int = 50) -> list[LCDocument]:
    """The baseline's chunks: ``RecursiveCharacterTextSplitter`` with its default separators."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    return splitter.create_documents([text for _, text in files], metadatas=[{"source": n} for n, _ in files])


@dataclass
class LangChainBaseline:
    """Split -> embed -> in-memory vector store -> top-k; answer = best sentences of the top chunk."""

    store: InMemoryVectorStore
    n_chunks: int
    k: int = 10
    sentences: int = 3
    name: str = "langchain"
    answers: bool = True

    @classmethod
    def build(
        cls,
        files: Sequence[tuple[str, str]],
        embeddings: Embeddings,
        k: int = 10,
        chunk_size: int = 500,
        chunk_overlap: int = 50,
        sentences: int = 3,
    ) -> LangChainBaseline:
        """Index ``(file name, raw text)`` pairs the way a LangChain tutorial would."""
        docs = split_files(files, chunk_size, chunk_overlap)
        for i, d in enumerate(docs):
            d.id = f"lc-{i:04d}"
        store = InMemoryVectorStore(embeddings)
        store.add_documents(docs, ids=[d.id for d in docs])
        return cls(store, len(docs), k, sentences)

    def run(self, question: str, history: Sequence[tuple[str, str]] = ()) -> SystemRun:
        """A plain pipeline has no chat memory: a follow-up is searched as asked."""
        t0 = time.perf_counter()
        found: list[tuple[LCDocument, float]] = self.store.similarity_search_with_score(question, k=self.k)
        t1 = time.perf_counter()
        answer = best_sentences(question, found[0][0].page_content, self.sentences) if found else ""
        t2 = time.perf_counter()
        retrieved = tuple(
            Retrieved(rank, d.id or "", float(s), d.page_content, source_file=d.metadata.get("source", ""))
            for rank, (d, s) in enumerate(found, start=1)
        )
        cited = (CitedClause(1, retrieved[0].chunk_id, retrieved[0].text),) if answer else ()
        return SystemRun(retrieved, latency_s=t2 - t0, retrieval_s=t1 - t0, answer=answer, citations=cited,
                         refused=not answer)


def retriever_baselines(service: Service, k: int = 10, names: Sequence[str] = ("bm25", "dense")) -> list[RetrieverSystem]:
    """BM25-only and/or dense-only over the pipeline's own store, without any reranker."""
    return [RetrieverSystem(name, service.retriever_for(name, reranker=False), k)  # type: ignore[arg-type]
            for name in ("bm25", "dense") if name in names]


def read_corpus_files(corpus: str | Path, extensions: Sequence[str] = (".txt", ".md")) -> list[tuple[str, str]]:
    """``(name, raw text)`` for every corpus file, as a plain pipeline would load them."""
    root = Path(corpus)
    paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix.lower() in extensions)
    return [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in paths]
