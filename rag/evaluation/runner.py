"""Run a Q&A set through the pipeline and the baselines, scoring every item the same way.

Why "systems": the pipeline, BM25-only, dense-only and the plain LangChain pipeline are
each a :class:`System` (question -> :class:`SystemRun`), so one loop runs them on the same
questions and one scoring function turns every run into :class:`~rag.evaluation.metrics.ItemScores`;
the side-by-side table cannot compare numbers computed differently.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from rag.sentences import split_sentences
from rag.evaluation import metrics as M
from rag.evaluation.qaset import TYPES, UNANSWERABLE, QAItem
from rag.progress import track
from rag.records import Answer, Citation, Hit


@dataclass(frozen=True)
class Retrieved:
    """One ranked chunk as the report shows it."""

    rank: int
    chunk_id: str
    score: float
    text: str
    title: str = ""
    heading_path: str = ""
    source_file: str = ""

    @classmethod
    def from_hit(cls, hit: Hit, rank: int) -> Retrieved:
        c = hit.chunk
        return cls(rank, c.chunk_id, float(hit.score), c.text, c.title, c.path, c.source_file)


@dataclass(frozen=True)
class CitedClause:
    """A citation of an answer with the clause text it points to (what citation precision checks)."""

    n: int
    chunk_id: str
    text: str
    quote: str = ""
    title: str = ""
    heading_path: str = ""

    @classmethod
    def from_citation(cls, c: Citation) -> CitedClause:
        return cls(c.n, c.chunk.chunk_id, c.chunk.text, c.quote, c.chunk.title, c.chunk.path)


@dataclass(frozen=True)
class SystemRun:
    """What one system produced for one question.  ``answer`` is ``None`` for retrieval-only systems.

    ``latency_s`` is the time to the system's final output (the answer, or the ranked list);
    ``retrieval_s`` the retrieval part of it, for information."""

    retrieved: tuple[Retrieved, ...]
    latency_s: float
    answer: str | None = None
    citations: tuple[CitedClause, ...] = ()
    refused: bool = False
    unsupported: tuple[str, ...] = ()
    retrieval_s: float = 0.0
    notes: tuple[str, ...] = ()
    faithfulness: float | None = None
    outcome: str = ""  # answered | not_stated | not_found ("" for systems that never refuse)
    answerability: float | None = None  # the pipeline's P(answerable)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "retrieved": [r.__dict__ for r in self.retrieved],
            "latency_s": round(self.latency_s, 4),
            "retrieval_s": round(self.retrieval_s, 4),
        }
        if self.answer is not None:
            out |= {
                "answer": self.answer,
                "citations": [c.__dict__ for c in self.citations],
                "refused": self.refused,
                "outcome": self.outcome,
                "answerability": self.answerability,
                "unsupported": list(self.unsupported),
                "notes": list(self.notes),
                "faithfulness": self.faithfulness,
            }
        return out


History = Sequence[tuple[str, str]]


class System(Protocol):
    """Anything evaluated: a name, whether it answers (or only retrieves), and one call per question.

    ``history`` holds the earlier turns of a follow-up; systems without a chat memory ignore it."""

    name: str
    answers: bool

    def run(self, question: str, history: History = ()) -> SystemRun: ...


class Searcher(Protocol):
    def search(self, query: str, k: int = ...) -> list[Hit]: ...


class Asker(Protocol):
    """The part of :class:`rag.service.Service` the pipeline system uses."""

    def ask(self, question: str, history: History = ()) -> Answer: ...

    def search(self, query: str, k: int | None = None) -> Any: ...  # a rag.retrieve.Retrieval


@dataclass
class PipelineSystem:
    """The product: ``service.ask`` for the answer, ``service.search`` on the question it answered
    (the standalone form of a follow-up) for the ranked list."""

    service: Asker
    k: int = 10
    name: str = "pipeline"
    answers: bool = True

    def run(self, question: str, history: History = ()) -> SystemRun:
        t0 = time.perf_counter()
        answer = self.service.ask(question, history=history)
        t1 = time.perf_counter()
        hits = self.service.search(answer.standalone_question or question, k=self.k).hits
        t2 = time.perf_counter()
        return SystemRun(
            retrieved=tuple(Retrieved.from_hit(h, i) for i, h in enumerate(hits[: self.k], start=1)),
            latency_s=t1 - t0,
            retrieval_s=t2 - t1,
            answer=answer.text,
            citations=tuple(CitedClause.from_citation(c) for c in answer.citations),
            refused=answer.refused,
            unsupported=tuple(answer.unsupported),
            notes=tuple(answer.notes),
            outcome=answer.outcome,
            answerability=answer.answerability,
        )


@dataclass
class RetrieverSystem:
    """A retrieval-only system (BM25-only, dense-only, or the pipeline's ranking alone): scored on retrieval metrics."""

    name: str
    retriever: Searcher
    k: int = 10
    answers: bool = False
    # the product's follow-up rewrite (``Service.standalone``): the pipeline ranks for the question a follow-up
    # stands for, as it does when it answers; None for the baselines, which have no chat memory
    standalone: Callable[[str, History], str] | None = None

    def run(self, question: str, history: History = ()) -> SystemRun:
        t0 = time.perf_counter()
        query = self.standalone(question, history) if self.standalone is not None and history else question
        hits = self.retriever.search(query, k=self.k)
        dt = time.perf_counter() - t0
        return SystemRun(tuple(Retrieved.from_hit(h, i) for i, h in enumerate(hits[: self.k], start=1)), dt,
                         retrieval_s=dt)


class ChatModel(Protocol):
    """A LangChain chat model (``invoke(messages) -> message with .content``)."""

    def invoke(self, input: Any) -> Any: ...


JUDGE_SYSTEM = "你是严格的事实核查员，只根据给出的引用条款判断，不使用任何外部知识。"
JUDGE_USER = """下面是若干引用条款和一个回答（已按句编号）。逐句判断：该句陈述的内容（尤其是数字、日期、名称、条件）是否都能由引用条款直接支持。
只输出一个 JSON 对象，不要输出其他文字：{{"supported": [true 或 false, ...]}}，列表长度等于句子数，顺序与编号一致。

引用条款：
{clauses}

回答句子：
{sentences}"""


@dataclass
class Judge:
    """LLM-as-judge faithfulness: the share of answer sentences the cited clauses support."""

    model: ChatModel

    def score(self, answer: str, citations: Sequence[CitedClause]) -> float | None:
        sentences = [s.strip() for s in split_sentences(M.strip_citations(answer)) if len(s.strip()) > 1]
        if not sentences or not citations:
            return None if not sentences else 0.0
        clauses = "\n\n".join(f"[{c.n}] {c.text}" for c in citations)
        numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, start=1))
        try:
            reply = self.model.invoke([("system", JUDGE_SYSTEM),
                                       ("human", JUDGE_USER.format(clauses=clauses, sentences=numbered))])
        except Exception:  # noqa: BLE001 - the judge is advisory: a failed call leaves the answer unjudged
            return None
        return parse_judgement(str(getattr(reply, "content", reply)), len(sentences))


def parse_judgement(text: str, n_sentences: int) -> float | None:
    """Share of ``true`` verdicts in the judge's JSON reply; ``None`` when it cannot be read."""
    match = re.search(r"\{.*\}", text, re.S)
    try:
        verdicts = json.loads(match.group(0))["supported"] if match else None
    except (json.JSONDecodeError, KeyError, TypeError):
        return None
    if not isinstance(verdicts, list) or not verdicts:
        return None
    verdicts = verdicts[:n_sentences]
    return sum(v is True for v in verdicts) / len(verdicts)


def score(item: QAItem, run: SystemRun, answers: bool) -> M.ItemScores:
    """One system's run on one gold item -> the numbers the metrics average."""
    texts = [r.text for r in run.retrieved]
    unanswerable = item.type == UNANSWERABLE
    base = M.ItemScores(
        type=item.type,
        unanswerable=unanswerable,
        rank=None if unanswerable else M.first_hit_rank(texts, item.evidence),
        full_coverage=0.0 if unanswerable else float(M.evidence_coverage(texts, item.evidence, 10) == 1.0),
        latency_s=run.latency_s,
    )
    if not answers or run.answer is None:
        return base
    text = "" if run.refused else run.answer
    return replace(
        base,
        answers=True,
        refused=run.refused,
        key_fact_recall=M.key_fact_recall(text, item.key_facts),
        char_f1=M.char_f1(text, item.answer) if not unanswerable else 0.0,
        outcome=run.outcome,
        expected_outcome=item.outcome,
        answerability=run.answerability,
        citation_precision=None if run.refused or unanswerable
        else M.citation_precision([c.text for c in run.citations], item.evidence),
        n_citations=len(run.citations),
        n_unsupported=len(run.unsupported),
        faithfulness=run.faithfulness,
    )


@dataclass
class ItemResult:
    """A gold item and every system's run on it, with their scores."""

    item: QAItem
    runs: dict[str, SystemRun]
    scores: dict[str, M.ItemScores]

    def to_dict(self, primary: str) -> dict[str, Any]:
        """The pipeline's run at top level (``retrieved``, ``answer`` …), the baselines under ``baselines``."""
        it = self.item
        out: dict[str, Any] = {"id": it.id, "type": it.type, "question": it.question, "gold_answer": it.answer,
                               "key_facts": list(it.key_facts), "evidence": list(it.evidence),
                               "source_file": it.source_file, "split": it.split, "expected_outcome": it.outcome,
                               "history": [list(t) for t in it.history]}
        for name, run in self.runs.items():
            rec = run.to_dict() | {"scores": _item_scores(self.scores[name])}
            if name == primary:
                out |= rec
            else:
                out.setdefault("baselines", {})[name] = rec
        return out


def _item_scores(s: M.ItemScores) -> dict[str, Any]:
    out: dict[str, Any] = {"first_hit_rank": s.rank, "full_coverage@10": s.full_coverage}
    if s.answers:
        out |= {"key_fact_recall": s.key_fact_recall, "char_f1": round(s.char_f1, 4),
                "citation_precision": s.citation_precision, "faithfulness": s.faithfulness}
    return out


@dataclass
class EvalResult:
    """Per-item results and metrics per system (``overall`` and ``by_type``), plus run facts."""

    items: list[ItemResult]
    metrics: dict[str, dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        primary = self.meta.get("primary", "pipeline")
        return {"meta": self.meta, "metrics": self.metrics, "items": [r.to_dict(primary) for r in self.items]}


def run_eval(
    items: Sequence[QAItem],
    systems: Sequence[System],
    judge: Judge | None = None,
    progress: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Every system on every item, scored; metrics overall and per type for each system.

    Each system first answers the first question once, untimed, so lazy loading (jieba
    dictionaries, ONNX sessions) is not charged to the latency of one unlucky item.  ``progress``
    reports on stderr (:func:`rag.progress.track`)."""
    if items:
        for system in systems:
            system.run(items[0].question, items[0].history)
    results: list[ItemResult] = []
    seconds = {s.name: 0.0 for s in systems}
    for item in track(items, len(items), "eval", unit="question") if progress else items:
        runs: dict[str, SystemRun] = {}
        for system in systems:
            t0 = time.perf_counter()
            run = system.run(item.question, item.history)
            seconds[system.name] += time.perf_counter() - t0
            if judge is not None and system.answers and run.answer is not None and not run.refused:
                run = replace(run, faithfulness=judge.score(run.answer, run.citations))
            runs[system.name] = run
        results.append(ItemResult(item, runs, {s.name: score(item, runs[s.name], s.answers) for s in systems}))
    metrics = {}
    for s in systems:
        rows = [r.scores[s.name] for r in results]
        metrics[s.name] = {"answers": s.answers, "overall": M.aggregate(rows),
                           "by_type": M.aggregate_by_type(rows, TYPES)}
    info = {"n_items": len(items), "systems": [s.name for s in systems],
            "primary": systems[0].name if systems else "",
            "system_seconds": {k: round(v, 2) for k, v in seconds.items()}}
    return EvalResult(results, metrics, {**info, **(meta or {})})
