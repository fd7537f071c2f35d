"""The answer stage: question (+ history) -> retrieved clauses -> verified, cited ``Answer``.

One pipeline for both backends, so the checks never depend on who wrote the text:
condense -> retrieve -> pack -> score sentences (evidence gate) -> LLM or extract ->
verify citations and facts -> validity.  An LLM failure of any kind becomes a note and
the extractive answer; nothing here raises to the caller because of the model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.answer.condense import condense_heuristic, format_history
from rag.answer.context import Clause, pack, render
from rag.answer.extractive import (
    Embedder,
    Extract,
    calibrate_refusal,
    extract,
    refusal,
    score_sentences,
)
from rag.answer.llm import backend_name, describe_error, fill, load_prompt
from rag.answer.validity import validity_lines
from rag.answer.verify import verify
from rag.config import Config
from rag.records import Answer, Chunk, Hit

__all__ = ["Answerer", "Retriever", "Embedder", "calibrate_refusal"]

LLM_FALLBACK_SEPARATOR = "\n\n"
_REFUSAL_MARK = "未找到"


class Retriever(Protocol):
    def search(self, query: str, k: int | None = None, filters: Any = None) -> list[Hit]: ...

    def neighbours(self, chunk: Chunk, n: int) -> list[Chunk]: ...


class _Timer:
    """Seconds per stage, collected into ``Answer.timings``."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - t, 4)

    def done(self) -> dict[str, float]:
        return {**self.timings, "total": round(time.perf_counter() - self._start, 4)}


class Answerer:
    def __init__(
        self,
        retriever: Retriever,
        embedder: Embedder,
        cfg: Config,
        llm: BaseChatModel | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.cfg = cfg
        self.llm = llm
        self.today = today

    @property
    def backend(self) -> str:
        return backend_name(self.cfg.llm, self.llm)

    def ask(
        self, question: str, history: Sequence[tuple[str, str]] = (), filters: Any = None, as_of: date | None = None
    ) -> Answer:
        """The final verified answer (the last item of :meth:`stream`)."""
        for item in self.stream(question, history=history, filters=filters, as_of=as_of):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream() ended without an Answer")

    def evidence(self, question: str, filters: Any = None) -> float:
        """Score of the best sentence of the top clauses: what ``refuse_below`` is compared with."""
        clauses = self._pack(self._retrieve(question, filters, []))
        scored = score_sentences(question, self._top(clauses), self.embedder)
        return scored[0].score if scored else 0.0

    def stream(
        self, question: str, history: Sequence[tuple[str, str]] = (), filters: Any = None, as_of: date | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas as produced, then the final ``Answer``.

        The final ``Answer.text`` is the verified text (citations renumbered, bad markers
        removed), so front ends should replace the streamed text with it.
        """
        timer = _Timer()
        notes: list[str] = []
        if not question.strip():
            text = "请输入问题。"
            yield text
            yield Answer(question=question, text=text, refused=True, backend=self.backend, timings=timer.done())
            return
        with timer.stage("condense"):
            standalone = self._condense(question, history, notes)
        with timer.stage("retrieve"):
            hits = self._retrieve(standalone, filters, notes)
        with timer.stage("pack"):
            clauses = self._pack(hits)
        with timer.stage("score"):
            scored = score_sentences(standalone, self._top(clauses), self.embedder)
        extracted = extract(scored, self.cfg.answer.extract_sentences, self.cfg.answer.max_citations)

        def finish(text: str, refused: bool, extractive: bool, quotes: dict[int, str] | None = None) -> Answer:
            with timer.stage("verify"):
                checked = verify(text, clauses, quotes) if not refused else None
            citations = checked.citations if checked else ()
            return Answer(
                question=question,
                text=checked.text if checked else text,
                citations=citations,
                refused=refused,
                extractive=extractive,
                backend=self.backend,
                standalone_question=standalone,
                unsupported=checked.unsupported if checked else (),
                dropped_citations=checked.dropped if checked else (),
                validity=validity_lines(citations, as_of or self.today()),
                notes=tuple(notes),
                timings=timer.done(),
            )

        if not scored or extracted.evidence < self.cfg.answer.refuse_below:
            text = refusal(standalone, clauses)
            yield text
            yield finish(text, refused=True, extractive=self.llm is None)
            return
        if self.llm is not None:
            generated: list[str] = []
            try:
                with timer.stage("generate"):
                    for delta in self._generate(standalone, clauses):
                        generated.append(delta)
                        yield delta
                text = "".join(generated).strip()
                if not text:
                    raise ValueError("empty answer")
            except Exception as exc:  # any model failure falls back; see module docstring
                notes.append(describe_error(exc))
            else:
                answer = finish(text, refused=False, extractive=False)
                if not answer.citations and _REFUSAL_MARK in answer.text:
                    answer = dataclasses.replace(answer, refused=True)  # the model said it found nothing
                yield answer
                return
            if generated:
                yield LLM_FALLBACK_SEPARATOR
        yield from self._extractive(extracted, finish)

    def _extractive(self, extracted: Extract, finish: Callable[..., Answer]) -> Iterator[str | Answer]:
        """Verified first, then streamed line by line, so the streamed text is the final text."""
        answer = finish(extracted.text, refused=False, extractive=True, quotes=extracted.quotes)
        yield from answer.text.splitlines(keepends=True)
        yield answer

    def _condense(self, question: str, history: Sequence[tuple[str, str]], notes: list[str]) -> str:
        if not history:
            return question
        if self.llm is not None:
            prompt = fill(
                load_prompt("condense", self.cfg.answer.prompts_dir),
                history=format_history(history),
                question=question,
            )
            try:
                reply = self.llm.invoke([HumanMessage(prompt)])
                rewritten = str(reply.content).strip().splitlines()
                if rewritten and rewritten[0].strip():
                    return rewritten[0].strip()
            except Exception as exc:  # condense failure: rule-based rewrite instead
                notes.append(describe_error(exc, fallback="已改用规则改写追问"))
        return condense_heuristic(question, history)

    def _retrieve(self, query: str, filters: Any, notes: list[str]) -> list[Hit]:
        """Hits for ``query``; a retriever with ``retrieve()`` also reports notes (e.g. a truncated query)."""
        retrieve = getattr(self.retriever, "retrieve", None)
        if retrieve is None:
            return self.retriever.search(query, filters=filters)
        result = retrieve(query, filters=filters)
        notes.extend(result.notes)
        return list(result.hits)

    def _pack(self, hits: Sequence[Hit]) -> list[Clause]:
        a = self.cfg.answer
        return pack(hits, a.context_tokens, self.retriever.neighbours, a.neighbours, self.cfg.chunk.encoding)

    def _top(self, clauses: Sequence[Clause]) -> list[Clause]:
        """The clauses whose sentences may be quoted: the best hits, not their neighbours."""
        return [c for c in clauses if c.is_hit][: self.cfg.answer.max_citations]

    def _generate(self, question: str, clauses: Sequence[Clause]) -> Iterator[str]:
        assert self.llm is not None
        a = self.cfg.answer
        messages = [
            SystemMessage(load_prompt("answer_system", a.prompts_dir)),
            HumanMessage(fill(load_prompt("answer_user", a.prompts_dir), clauses=render(clauses), question=question)),
        ]
        for chunk in self.llm.stream(messages):
            if isinstance(chunk.content, str) and chunk.content:
                yield chunk.content
