"""The answer stage: question (+ history) -> retrieved clauses -> verified, cited ``Answer``.

One pipeline for both backends, so the checks never depend on who wrote the text:
condense -> retrieve -> pack -> read the intent, score units, assess answerability ->
LLM or extract -> verify citations and facts -> validity.  Three outcomes: ``answered``,
``not_stated`` (the documents cover the topic, not the thing asked) and ``not_found``
(nothing relevant).  Without an LLM the answerability model decides all three; with one it
only rules out ``not_found`` and the model says, in a structured first line, whether the
clauses state the answer.  Two readings of the question override the model: a 文号 asked of a
notice that has none is ``not_stated``; a name asked to be explained (“415X指什么”) that a
scored unit defines is ``answered``.  Refusals still carry the nearest clauses as citations.  An LLM
failure of any kind becomes a note and the extractive answer; nothing here raises to the
caller because of the model.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, Protocol

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.answer.answerability import (ANSWERED, NOT_FOUND, NOT_STATED, AnswerabilityModel, Assessment, features,
                                      sibling_modifier, sibling_term, unmentioned)
from rag.answer.condense import (
    about_previous, as_follow_up, condense_heuristic, format_history, history_topic, is_follow_up, names_notice,
    opens_as_follow_up,
)
from rag.answer.context import Clause, pack, render
from rag.answer.extractive import (Extract, Scored, Step, choose, cites_named, labelled_row, merge_extracts,
                                  named_record, not_found_text, not_stated_text, notice_names, quote, record_answer,
                                  record_holds, score_units, title_match, unrecorded_units)
from rag.intent import (Intent, asker_offices, asks_doc_number, defines, leaves_open, only_as_status, other_edition,
                        other_grade, outside_series, payment_unnamed, per_recipient_unstated, programme_unnamed,
                        rate_put, read_intent, record_answers, states, target_for_threshold,
                        without_self_description)
from rag.answer.llm import backend_name, describe_error, fill, load_prompt
from rag.answer.validity import validity_lines
from rag.answer.verify import verify
from rag.config import Config
from rag.embed import Embedder
from rag.records import Answer, Chunk, Citation, Hit
from rag.retrieve import Retrieval, limit_question
from rag.sentences import context_text, quotable_units
from rag.textnorm import compact, fold

__all__ = ["Answerer", "Retriever", "Evidence"]

LLM_FALLBACK_SEPARATOR = "\n\n"
NEAREST_CARDS = 3  # clauses shown with a refusal
INSTRUCTION_WARNING = ("⚠ 所引条款中含有向AI发出指令的文字（如“忽略以上指令”），系文件原文中的异常内容，已按数据处理、"
                       "不作为答案依据；请核对原文，对其中出现的数字尤其谨慎。")


class Retriever(Protocol):
    def retrieve(self, query: str, k: int | None = None, filters: Any = None) -> Retrieval: ...

    def neighbours(self, chunk: Chunk, n: int) -> list[Chunk]: ...

    def unit_vectors(self, chunk: Chunk) -> np.ndarray: ...

    def document_chunks(self, doc_id: str) -> list[Chunk]: ...

    def attachments(self, doc_id: str) -> list[Chunk]: ...

    def word_weights(self, query: str) -> dict[str, float]: ...

    def aliases(self, query: str) -> Sequence[tuple[str, Sequence[str]]]: ...

    def uncovered(self, query: str) -> Sequence[str]: ...

    def rarity(self, word: str) -> float: ...

    def nominal(self, word: str) -> bool: ...


@dataclasses.dataclass(frozen=True)
class Gathered:
    """What retrieving, packing and scoring one question yields: the input of the outcome rules."""

    result: Retrieval  # its ``query`` is the query used
    clauses: list[Clause]  # the packed context
    intent: Intent
    top: list[Clause]  # the best hits, whose units may be quoted
    scored: list[Scored]
    docs: list[list[Chunk]]  # the top three hits' documents
    weights: dict[str, float]  # the question's words with their IDF
    features: dict[str, float]


@dataclasses.dataclass(frozen=True)
class Evidence:
    """Everything the answer is decided from: the context, the question's intent, scored units, the assessment."""

    standalone: str  # the question retrieved, scored and prompted with: condensed, within the length limit
    clauses: list[Clause]
    intent: Intent
    scored: list[Scored]
    assessment: Assessment
    records: tuple[Clause, ...] = ()  # a 文号/发文机关 question: the hits whose documents it asks about (one or two)
    absent: tuple[str, ...] = ()  # programmes it names that no indexed clause mentions (留抵退税)

    @property
    def record(self) -> Clause | None:
        return self.records[0] if self.records else None


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
        model: AnswerabilityModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.cfg = cfg
        self.llm = llm
        self.today = today
        self._model = model

    @property
    def model(self) -> AnswerabilityModel:
        """Loaded on first use, so refitting (:meth:`features`) never needs the model it replaces."""
        if self._model is None:
            self._model = AnswerabilityModel.load(self.cfg.answer.answerability)
        return self._model

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

    def features(self, question: str, history: Sequence[tuple[str, str]] = ()) -> dict[str, float]:
        """The answerability features of a question: what ``--fit-answerability`` fits the model on."""
        return self._gather(self.standalone(question, history), None, [], _Timer()).features

    def standalone(self, question: str, history: Sequence[tuple[str, str]] = ()) -> str:
        """The question a follow-up stands for (what :meth:`stream` retrieves with); notes are not kept."""
        return self._condense(question, history, [])

    def _gather(
        self, standalone: str, filters: Any, notes: list[str], timer: _Timer, asked: str | None = None,
    ) -> Gathered:
        """Retrieve, pack and score.  ``asked``: what the clauses are scored against when it is not the query itself
        (a question retrieved with the conversation's topic is judged on what it asks)."""
        with timer.stage("retrieve"):
            result = self.retriever.retrieve(standalone, filters=filters)
            notes.extend(n for n in result.notes if n not in notes)
        with timer.stage("pack"):
            clauses = self._pack(result.hits)
        with timer.stage("score"):
            query = asked or result.query
            intent = read_intent(query)
            top = self._top(clauses)
            qvec = self.embedder.embed_queries([fold(query)])[0]
            scored = score_units(query, qvec, intent, top, self.retriever.unit_vectors, self.cfg.answer,
                                 self.retriever.aliases(query))
            docs = [self.retriever.document_chunks(d) for d in dict.fromkeys(c.chunk.doc_id for c in top[:3])]
            offices = asker_offices(query)
            weights = {w: v for w, v in self.retriever.word_weights(query).items() if w not in offices}
            asked = fold(without_self_description(query))  # “我是开五金加工小厂的个体户，…”: no word of it is asked
            feats = features(query, intent, clauses, scored, docs, {w: v for w, v in weights.items() if w in asked})
        return Gathered(result, clauses, intent, top, scored, docs, weights, feats)

    def _evidence(
        self, standalone: str, filters: Any, notes: list[str], timer: _Timer, gate: bool, asked: str | None = None,
    ) -> Evidence:
        g = self._gather(standalone, filters, notes, timer, asked)
        result, intent, top, scored, docs = g.result, g.intent, g.top, g.scored, g.docs
        with timer.stage("score"):
            assessment = self.model.assess(g.features, gate=gate)
            records = self._named_records(result.query, top, g.clauses, filters) if intent.meta and top else ()
            record = records[0] if records else None
            if gate and assessment.outcome == ANSWERED and scored and any(
                    leaves_open(s.sentence, intent, result.query) for s in scored[:3] if s.lexical >= scored[0].lexical):
                assessment = dataclasses.replace(assessment, outcome=NOT_STATED)  # “按…的一定比例给予奖励”: no figure
            one_part = not intent.compare and len(intent.parts) == 1
            if (gate and assessment.outcome != ANSWERED and intent.fact_kinds == ("in_charge",) and scored
                    and _RESPONSIBLE.search(scored[0].clause.chunk.text)):
                assessment = dataclasses.replace(assessment, outcome=ANSWERED)  # “这条是哪个部门负责的？” of “(省国税局负责)”
            if gate and assessment.outcome != ANSWERED and record is not None and not intent.fact_kinds:
                # only fields of the record asked: the record answers, however its clauses match the wording
                # (“这个守重的通知是哪个部门发的？” finds the notice by its name, not by any clause)
                assessment = dataclasses.replace(assessment, outcome=ANSWERED)
            if gate and assessment.outcome == ANSWERED and record is not None:
                document = self._record_document(record.chunk)
                no_docno = asks_doc_number(result.query) and not record_holds(("docno",), record.chunk, document)
                no_field = one_part and not intent.fact_kinds and not record_holds(intent.meta, record.chunk, document)
                if no_docno or no_field:  # no 文号 in record or text; “证书有效期几年” of a notice stating no validity
                    assessment = dataclasses.replace(assessment, outcome=NOT_STATED)
            if (gate and assessment.outcome == ANSWERED and scored and not intent.compare
                    and unmentioned(intent.places, [self.retriever.document_chunks(scored[0].clause.chunk.doc_id)])):
                assessment = dataclasses.replace(assessment, outcome=NOT_STATED)  # “那宁波呢？” of a 杭州 notice
            answering, judged = "".join(s.sentence for s in scored[:3]), asked or result.query
            best = scored[0].sentence if scored else ""
            if gate and assessment.outcome == ANSWERED and (  # “2024年的呢？”, “第二批”, 个人所得税 / 工伤保险 of others
                    unmentioned(intent.years, self._with_parents(docs)) or unmentioned(intent.batches, docs)
                    or sibling_term(g.weights, answering)
                    or sibling_modifier(judged, g.weights, answering, self.retriever.rarity, self.retriever.nominal)
                    or (not one_part and not intent.compare and any(  # “…单个项目最多投多少？” of a fund's size
                        per_recipient_unstated(part, read_intent(part), answering) for part in intent.parts))
                    or (len(notice_names(judged)) < 2 and other_edition(judged, scored[0].clause.chunk.title))  # “2022年度…名单…？”
                    or target_for_threshold(judged, best)  # “进培育库有什么门槛” of “到2025年…累计达到300家”
                    or ("condition" in intent.kinds  # “申报省级专精特新要什么条件” of a rule for those who already are
                        and only_as_status(judged, g.weights, _clause_text(scored[0])))
                    or (one_part and (per_recipient_unstated(judged, intent, best) or other_grade(judged, best)
                                      or payment_unnamed(judged, intent, answering)
                                      or programme_unnamed(intent, self.retriever.aliases(judged), _clause_text(scored[0]))))):
                assessment = dataclasses.replace(assessment, outcome=NOT_STATED)
            row = labelled_row(scored, scored[0], intent.places) if gate and scored and intent.years else []
            if assessment.outcome == ANSWERED and outside_series(intent.years, "".join(s.sentence for s in row)):
                assessment = dataclasses.replace(assessment, outcome=NOT_STATED)  # 2021 asked of a 2016—2020 table
            absent = tuple(self.retriever.uncovered(without_self_description(judged))) if gate else ()
            if absent and (assessment.outcome == ANSWERED or one_part):  # 留抵退税 asked of notices never saying it
                assessment = dataclasses.replace(assessment, outcome=NOT_FOUND if one_part else NOT_STATED)
            if (assessment.outcome != ANSWERED and intent.explains
                    and any(defines(s.sentence, intent.explains) for s in scored)):
                assessment = dataclasses.replace(assessment, outcome=ANSWERED)  # “415X指什么” and a unit defines it
        return Evidence(result.query, g.clauses, intent, scored, assessment, records, absent)

    def stream(
        self, question: str, history: Sequence[tuple[str, str]] = (), filters: Any = None, as_of: date | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas as produced, then the final ``Answer``.

        The final ``Answer.text`` is the verified text (citations renumbered, bad markers
        removed), so front ends should replace the streamed text with it.
        """
        timer = _Timer()
        question, limited = limit_question(question, self.cfg.retrieve.max_query_chars)
        notes: list[str] = list(limited)
        if not question:
            text = "请输入问题。"
            yield text
            yield Answer(question=question, text=text, refused=True, outcome=NOT_FOUND, backend=self.backend,
                         timings=timer.done())
            return
        with timer.stage("condense"):
            standalone = self._condense(question, history, notes)
        ev = self._evidence(standalone, filters, notes, timer, gate=self.llm is None)
        if history and not opens_as_follow_up(question):
            ev = self._other_reading(question, history, standalone, ev, filters, notes, timer)
        standalone = ev.standalone  # within the question-length limit
        clauses = list(ev.clauses)

        def finish(text: str, outcome: str, extractive: bool, quotes: dict[int, str] | None = None) -> Answer:
            with timer.stage("verify"):
                checked = verify(text, clauses, quotes)
            citations = checked.citations or (self._nearest(clauses) if outcome != ANSWERED else ())
            if any(c.chunk.instructions for c in citations):
                notes.append(INSTRUCTION_WARNING)
            return Answer(
                question=question,
                text=checked.text,
                citations=citations,
                refused=outcome != ANSWERED,
                outcome=outcome,
                extractive=extractive,
                backend=self.backend,
                standalone_question=standalone,
                unsupported=checked.unsupported,
                dropped_citations=checked.dropped,
                validity=validity_lines(citations, as_of or self.today()) if outcome == ANSWERED else (),
                notes=tuple(notes),
                timings=timer.done(),
                answerability=round(ev.assessment.probability, 4),
            )

        outcome = ev.assessment.outcome if ev.scored else NOT_FOUND
        if outcome == NOT_FOUND:
            text = not_found_text(standalone, clauses, ev.absent)
            yield text
            yield finish(text, NOT_FOUND, extractive=self.llm is None)
            return
        if self.llm is not None:
            generated: list[str] = []
            try:
                with timer.stage("generate"):
                    stated, had_header = yield from self._generate(standalone, clauses, generated)
                if not had_header:
                    notes.append("模型未按约定在首行给出结论标记，按“已回答”处理，引用照常核对")
                text = "".join(generated).strip()
                if not text:
                    raise ValueError("empty answer")
            except Exception as exc:  # any model failure falls back; see module docstring
                notes.append(describe_error(exc))
            else:
                yield finish(text, ANSWERED if stated else NOT_STATED, extractive=False)
                return
            if generated:
                yield LLM_FALLBACK_SEPARATOR
            outcome = self.model.assess(ev.assessment.features).outcome  # the extractive gate, as without an LLM
        extracted = self._extract(ev, clauses, outcome)
        if outcome == ANSWERED and not self._carries_asked(ev, extracted):
            outcome = NOT_STATED  # “一个项目能资助多少钱？” and the quote states no amount: say so, do not quote
            extracted = self._extract(ev, clauses, outcome)
        answer = finish(extracted.text, outcome, extractive=True, quotes=extracted.quotes)
        yield from answer.text.splitlines(keepends=True)
        yield answer

    def _extract(self, ev: Evidence, clauses: list[Clause], outcome: str) -> Extract:
        """The extractive text for ``outcome``; may append document clauses to ``clauses`` (record answers)."""
        if outcome == NOT_STATED:
            return not_stated_text(ev.standalone, ev.intent, ev.scored[0], ev.absent)
        if ev.intent.meta and ev.records:
            parts = []
            one = len(ev.records) == 1  # two notices' records are the whole answer
            # the best unit too, where the question asks more than the record's own fields hold (another part, a
            # figure, the notice it was issued under: “是根据国家哪份文件来的？文号多少？”) or names a notice the best
            # unit cites (“杭州打造全国专精特新名城的实施意见文号”: only cited by a notice in the corpus)
            own_fields = (record_answers(ev.intent) and not _UNDER.search(ev.standalone) and not (
                ev.scored and cites_named(ev.standalone, ev.scored[0].sentence, ev.records[0].chunk.title)))
            best = ev.scored[0] if one and not own_fields else None
            units = unrecorded_units(ev.scored, ev.intent, self.cfg.answer, ev.records[0].chunk) if one else []
            for target in ev.records:
                number = _numbering(clauses, target)
                parts.append(record_answer(ev.intent, target.chunk, best, self._record_document(target.chunk),
                                           lambda c, number=number: number(c).n, units))
            return merge_extracts(parts)
        return quote(choose(ev.scored, ev.intent, self.cfg.answer, lambda unit: self._next_items(unit, clauses),
                            lambda unit: self._steps(unit, clauses), lambda unit: self._lead_in(unit, clauses),
                            lambda unit: self._item_after(unit, clauses, ev.standalone, ev.intent)))

    @staticmethod
    def _carries_asked(ev: Evidence, extracted: Extract) -> bool:
        """Whether a quoted answer states a fact of a kind asked (an amount, a date, a share, a score …), as an answer
        must: the clauses judged answerable may hold it in a unit the quote leaves out; so too a share a yes/no
        question puts (:func:`rate_put`: “能按100%扣吗？”).  A record answer names its fields itself.  On the twenty
        sets' dev parts, three answers quoted none, all to unanswerable questions."""
        kinds = ev.intent.fact_kinds or rate_put(ev.standalone, ev.intent)
        if not kinds or (ev.intent.meta and ev.records):
            return True
        quotes = extracted.quotes
        if ev.scored and not ev.intent.compare and len(ev.intent.parts) == 1:
            # one thing asked: a figure only another notice's quote states than the best unit's answers something else
            # (“省里给这个子基金出资多少” of the AI 意见's 子基金, and the 50 亿元 母基金 of another plan quoted beside it)
            best = ev.scored[0].clause.chunk
            family = {best.doc_id, best.parent_id} - {None}
            of = {c.n: {c.chunk.doc_id, c.chunk.parent_id} for c in ev.clauses}
            quotes = {n: q for n, q in quotes.items() if family & of.get(n, set())}
        quoted = "".join(quotes.values())
        said = ev.intent.said if ev.intent.fact_kinds else ()  # the share put is answered by the clause stating it
        return any(states(quoted, kind, said) for kind in kinds)

    def _named_records(
        self, query: str, top: Sequence[Clause], clauses: list[Clause], filters: Any,
    ) -> tuple[Clause, ...]:
        """The hits whose documents a 文号/日期 question asks about: one per notice it names by kind when it names two
        (:func:`notice_names`), each the best-fitting top hit's, else the first hit of the words naming it asked
        alone (one notice's clauses can fill every top place), appended to ``clauses``; the one notice it names so
        when the top hit's title does not fit it; else :func:`named_record`."""
        picked: list[Clause] = []
        names = notice_names(query, at_least=1)
        for words, kind in names:
            words = " ".join([words, *(w for _, meant in self.retriever.aliases(words) for w in meant)])  # AI → 人工智能
            hit = max(top, key=lambda c: title_match(words, kind, c.chunk.title))
            if not title_match(words, kind, hit.chunk.title):
                found = next(iter(self.retriever.retrieve(words + kind, filters=filters).hits), None)
                if found is None or not title_match(words, kind, found.chunk.title):
                    continue
                hit = Clause(len(clauses) + 1, found.chunk, found.score, scores=found.scores)
                clauses.append(hit)
            if all(hit.chunk.doc_id != p.chunk.doc_id for p in picked):
                picked.append(hit)
        if len(names) == 1 and picked and not title_match(*names[0], top[0].chunk.title):
            return tuple(picked)  # “低效工业用地整治那个省级意见…施行” when the 415X 方案 quoting it ranks first
        return tuple(picked) if len(picked) > 1 else (named_record(query, top),)

    def _record_document(self, record: Chunk) -> list[Chunk]:
        """The chunks a document record's fields are found in: an attached plan/bulletin's 文号 and signature are
        in the notice that issued it, and a notice's date of effect may be in the plan it issued (“本行动方案自
        2016年9月9日起施行”)."""
        document = self.retriever.document_chunks(record.doc_id)
        if record.parent_id:
            return self.retriever.document_chunks(record.parent_id) + document
        return document + self.retriever.attachments(record.doc_id)

    def _with_parents(self, docs: list[list[Chunk]]) -> list[list[Chunk]]:
        """``docs`` and the notices that issued the attachments among them: an attachment (“各市科技创新重点和重大
        创新平台”) is of its notice's year, which its own text need not name."""
        parents = dict.fromkeys(d[0].parent_id for d in docs if d and d[0].parent_id)
        return docs + [self.retriever.document_chunks(p) for p in parents]

    def _next_items(self, unit: Scored, clauses: list[Clause]) -> list[Scored]:
        """The units of the clauses after ``unit``'s that are the next items of its list, all of them (the answer
        cuts them to its budget, or names each by its lead words); added to ``clauses``.  An item (“1.”, “(1)”) is
        followed by its next siblings in its document (same parent heading), every unit of them; a section that
        introduces sub-sections (“二、推动重点行业…” and its “(一)汽车及零部件。…”) by its children's first units, which
        name them."""
        chunk = unit.clause.chunk
        head, depth = chunk.heading_path, len(chunk.heading_path)
        later = [c for c in self.retriever.document_chunks(chunk.doc_id) if c.ordinal > chunk.ordinal]
        if depth and later and later[0].heading_path[:-1] == head:  # a section followed by its sub-sections
            under = itertools.takewhile(lambda c: c.heading_path[:depth] == head, later)
            items = [c for c in under if c.heading_path[:-1] == head]  # its children, not their own items
            first_only = True
        elif depth and _FIRST_ITEM.match(head[-1]):
            items = list(itertools.takewhile(lambda c: c.heading_path[:-1] == head[:-1] and len(c.heading_path) == depth,
                                             later))
            first_only = False
        else:
            return []  # a section (一、/(一)) is a clause of its own; a later item was matched for itself
        number = _numbering(clauses, unit.clause)
        out: list[Scored] = []
        for c in items:
            units = quotable_units(c.text)[:1] if first_only else quotable_units(c.text)
            out += [Scored(number(c), i, u, unit.score, 0.0, 0.0, True, 0.0) for i, u in units]
        return out

    def _beside(self, chunk: Chunk, offset: int) -> Chunk | None:
        """The chunk ``offset`` places after ``chunk`` in its document (before it when negative), if any."""
        return next((c for c in self.retriever.document_chunks(chunk.doc_id) if c.ordinal == chunk.ordinal + offset),
                    None)

    def _lead_in(self, unit: Scored, clauses: list[Clause]) -> Scored | None:
        """The closing unit of the clause before ``unit``'s in its document when that clause ends in a colon (it
        introduces the list ``unit``'s clause holds); added to ``clauses``."""
        before = self._beside(unit.clause.chunk, -1)
        if before is None or not before.text.rstrip().endswith(("：", ":")):
            return None
        units = quotable_units(before.text)
        if not units:
            return None
        i, last = units[-1]
        return Scored(_numbering(clauses, unit.clause)(before), i, last, unit.score, 0.0, 0.0, True, 0.0)

    def _item_after(self, lead: Scored, clauses: list[Clause], question: str, intent: Intent) -> Scored | None:
        """The unit of the clause after ``lead``'s in its document that best fits ``question`` (the item of the list a
        lead-in introduces that the asker means); that clause is added to ``clauses``."""
        after = self._beside(lead.clause.chunk, 1)
        if after is None:
            return None
        clause = _numbering(clauses, lead.clause)(after)
        qvec = self.embedder.embed_queries([fold(question)])[0]
        scored = score_units(question, qvec, intent, [clause], self.retriever.unit_vectors, self.cfg.answer,
                             self.retriever.aliases(question))
        return scored[0] if scored else None

    def _steps(self, unit: Scored, clauses: list[Clause]) -> list[Step]:
        """The steps of the procedure ``unit``'s clause belongs to, when a section above it is named as one (“二、公示程序”
        over “(一)企业申报”…“(五)动态管理”): each sub-section in the notice's order, or, where a sub-section has no text
        before its items (“(二)自主评价” over “1.信息填报”, “2.企业自评”), each of its items.  A step is its heading
        units and the two units after them; its clause is added to ``clauses``.  [] when no heading above names a
        procedure."""
        path = unit.clause.chunk.heading_path
        level = next((i for i, h in enumerate(path[:-1]) if _STEPS_SECTION.search(h)), None)
        if level is None:
            return []
        number = _numbering(clauses, unit.clause)

        def step(chunk: Chunk, names: Sequence[str]) -> Step | None:
            units = quotable_units(chunk.text)
            heads = [k for k, (_, u) in enumerate(units) if any(compact(u).startswith(compact(n)[:6]) for n in names)]
            if not heads:
                return None
            scored = [Scored(number(chunk), i, u, unit.score, 0.0, 0.0, True, 0.0) for i, u in units]
            return [scored[k] for k in heads], scored[heads[-1] + 1: heads[-1] + 3]

        sections: dict[str, list[Chunk]] = {}
        for c in self.retriever.document_chunks(unit.clause.chunk.doc_id):
            if c.heading_path[: level + 1] == path[: level + 1] and len(c.heading_path) > level + 1:
                sections.setdefault(c.heading_path[level + 1], []).append(c)
        out: list[Step | None] = []
        for name, chunks in sections.items():
            if len(chunks[0].heading_path) == level + 2:  # a sub-section with text of its own is one step
                out.append(step(chunks[0], [name]))
                continue
            items: dict[str, Chunk] = {}
            for c in chunks:
                items.setdefault(c.heading_path[level + 2], c)
            out += [step(c, [name, item] if k == 0 else [item]) for k, (item, c) in enumerate(items.items())]
        found = [s for s in out if s is not None]
        return found if len(found) > 1 else []

    def _nearest(self, clauses: Sequence[Clause]) -> tuple[Citation, ...]:
        """The best retrieved clauses as numbered cards: a refusal still shows what was found."""
        hits = [c for c in clauses if c.is_hit][:NEAREST_CARDS]
        return tuple(Citation(n=i, chunk=c.chunk, score=c.score) for i, c in enumerate(hits, start=1))

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
        return self._resolve(question, history)

    def _other_reading(
        self, question: str, history: Sequence[tuple[str, str]], standalone: str, ev: Evidence, filters: Any,
        notes: list[str], timer: _Timer,
    ) -> Evidence:
        """A question in a conversation that does not open as a follow-up reads two ways: as asked, and about the
        conversation's topic (:func:`as_follow_up`).  :meth:`_resolve` chose one by what retrieval finds; the other
        is taken when the model finds it better supported by ``reading_margin`` (by ``contact_reading_margin`` for
        a question asking only whom to contact: “有异议的话联系谁？” after a question on a 公示 is that notice's),
        or when the first finds nothing relevant and the other does (“有问题找谁反映？”).  A topic reading tried
        second is judged on the question as asked, as the retry this replaced was; one :meth:`_resolve` chose is
        judged on itself, as every rewrite is."""
        kept = standalone == question
        other = as_follow_up(question, history) if kept else question
        if other is None or other == standalone:
            return ev
        alt = self._evidence(other, filters, notes, timer, gate=self.llm is None, asked=question if kept else None)
        margin = (self.cfg.answer.contact_reading_margin if set(ev.intent.kinds) <= _CONTACT_KINDS and ev.intent.kinds
                  else self.cfg.answer.reading_margin)
        better = alt.assessment.probability > ev.assessment.probability + margin
        found = ev.assessment.outcome == NOT_FOUND and alt.assessment.outcome != NOT_FOUND
        return alt if better or found else ev

    def _resolve(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        """The rule-based rewrite (:func:`condense_heuristic`), for a question whose opening marks it a follow-up,
        unless it names its notice itself (:func:`names_notice`: “这份成果转化的文件文号多少？”).  One asking only
        fields of a notice's record that names none (“这通知是哪个部门、哪天发的？”) asks about the notice of the
        previous question, whatever topic the conversation began with.  Any other
        question in a conversation leans on it only if what it finds alone includes the conversation's notice (the
        top hit of :func:`history_topic`): “个转企那个实施意见文号多少？” after a question on 算力券 is a new topic,
        however its 那个 reads; “有问题找谁反映？” after one on a 公示 is not, though nothing marks it.
        Unmarked, it is asked about the topic (:func:`as_follow_up`) unless it already finds that notice first."""
        if names_notice(question):
            return question
        asks = read_intent(question)
        if asks.meta and not asks.fact_kinds:  # “这通知是哪个部门、哪天发的？”: the notice just talked about
            return about_previous(question, history)
        if opens_as_follow_up(question):
            return condense_heuristic(question, history)
        current = history_topic(history)
        if not current:
            return question
        found = [h.chunk.doc_id for h in self.retriever.retrieve(question, k=self.cfg.answer.follow_up_hits).hits]
        topic_hits = self.retriever.retrieve(current).hits
        if not topic_hits or topic_hits[0].chunk.doc_id not in found:
            return question
        if is_follow_up(question):
            return condense_heuristic(question, history)
        return question if found[0] == topic_hits[0].chunk.doc_id else as_follow_up(question, history) or question

    def _pack(self, hits: Sequence[Hit]) -> list[Clause]:
        a = self.cfg.answer
        return pack(hits, a.context_tokens, self.retriever.neighbours, a.neighbours, self.cfg.chunk.encoding)

    def _top(self, clauses: Sequence[Clause]) -> list[Clause]:
        """The clauses whose sentences may be quoted: the best hits, not their neighbours."""
        return [c for c in clauses if c.is_hit][: self.cfg.answer.max_citations]

    def _generate(self, question: str, clauses: Sequence[Clause], out: list[str]) -> Generator[str, None, tuple[bool, bool]]:
        """Stream the model's answer into ``out`` (and to the caller); return (clauses state it, header seen).

        The prompt asks for one JSON line first, ``{"outcome": "answered" | "not_stated"}``;
        it is parsed, not searched for words.  A reply without it counts as answered (and is
        verified like any other) with a note.
        """
        assert self.llm is not None
        a = self.cfg.answer
        messages = [
            SystemMessage(load_prompt("answer_system", a.prompts_dir)),
            HumanMessage(fill(load_prompt("answer_user", a.prompts_dir), clauses=render(clauses), question=question)),
        ]
        head = ""
        header_done = False
        parsed: str | None = None
        for chunk in self.llm.stream(messages):
            if not (isinstance(chunk.content, str) and chunk.content):
                continue
            if header_done:
                out.append(chunk.content)
                yield chunk.content
                continue
            head += chunk.content
            if "\n" not in head and len(head) < 200:
                continue
            first, _, rest = head.partition("\n")
            header_done = True
            parsed = _parse_header(first)
            rest = head if parsed is None else rest.lstrip("\n")
            if rest:
                out.append(rest)
                yield rest
        if not header_done and head:
            parsed = _parse_header(head)
            if parsed is None:
                out.append(head)
                yield head
        return parsed != NOT_STATED, parsed is not None


# a notice asked about as the one another was issued under, or a national one it cites; a standard's number
_UNDER = re.compile(r"根据|依据|依照|按照?(?:哪|什么|啥)|落实|贯彻|上位|国家|国标|标准")
_STEPS_SECTION = re.compile(r"程序|流程|步骤|环节")  # a section whose sub-sections are a procedure's steps (“二、申报程序”)
# a measure's closing parenthesis naming who carries it out (“(省国税局负责)”, “(责任单位:省科技厅、…)”)
_RESPONSIBLE = re.compile(r"[(（](?:责任单位[:：][^()（）]+|[^()（）]+(?:负责|牵头))[)）]")
_FIRST_ITEM = re.compile(r"\s*(?:[(（]1[)）]|1[.、．](?!\d)|①)")  # “(1)”, “1.”, “①”: the first item of a list


_CONTACT_KINDS = frozenset({"contact", "whom", "web"})  # what a question asking only whom to contact asks


def _clause_text(unit: Scored) -> str:
    """The text of ``unit``'s clause with its title and headings: what names the programme a clause is about."""
    chunk = unit.clause.chunk
    return chunk.title + context_text(chunk) + chunk.text


def _numbering(clauses: list[Clause], via: Clause) -> Callable[[Chunk], Clause]:
    """The clause of ``chunk`` in ``clauses``, appended (numbered next, reached ``via`` a hit) when absent."""
    def number(chunk: Chunk) -> Clause:
        found = next((c for c in clauses if c.chunk.chunk_id == chunk.chunk_id), None)
        if found is None:
            found = Clause(len(clauses) + 1, chunk, via.score, via=via.n if via.is_hit else via.via)
            clauses.append(found)
        return found
    return number


def _parse_header(line: str) -> str | None:
    """The outcome in the model's first line (``{"outcome": "answered"}``), or ``None`` if it is not that."""
    try:
        value = json.loads(line.strip().strip("`"))
    except json.JSONDecodeError:
        return None
    outcome = value.get("outcome") if isinstance(value, dict) else None
    return outcome if outcome in (ANSWERED, NOT_STATED) else None
