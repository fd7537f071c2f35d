"""The default answer with no LLM: the unit that carries the fact asked, quoted verbatim.

Each quotable unit of the top clauses (``rag.sentences.quotable_units``; vectors from the
index, so only the question is embedded) is scored by the question–unit cosine, the share of
the question's content bigrams it holds (its clause's title and heading path at half weight),
whether it states the kind of fact asked (:mod:`rag.intent`), whether it names the
places and years of the question, and its clause's retrieval rank.  Every weight is in
``cfg.answer`` (:class:`rag.config.AnswerConfig`).

What is quoted follows the question: the document record (title, 文号, issuer, dates) for
“谁发的/文号/何时施行”, the unit defining the name for “415X指什么”, the items of the best clause for a list
(its steps for a procedure; for “是什么流程/要过几道关”, every step of a section naming a procedure's stages, each by its
heading and lead words), one unit per part for a multi-part question and one per document for a
comparison, else the best unit and those close to it (a best unit longer than the answer budget, a notice's
preamble, gives way to a close one that fits).  Refusals (``not_stated``/``not_found``) are worded here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

import numpy as np

from rag.answer.context import Clause, neutralise_markers
from rag.intent import NOTICE_KIND, Intent, defines, question_bigrams, read_intent, states, topic_bigrams, within
from rag.config import AnswerConfig
from rag.records import Chunk
from rag.sentences import context_text, quotable_units, text_bigrams, unit_matches, validity_unit
from rag.textnorm import cn_date, compact, has_doc_number

EXTRACT_LABEL = "（以下为从文件中摘录的原文）"
GAP = "……"  # between quoted units of one clause that are not adjacent in it
_ITEM_NUMBER = re.compile(r"^(?:\d{1,2}[.、]|[一二三四五六七八九十]+、|\([一二三四五六七八九十\d]+\)|（[一二三四五六七八九十\d]+）)")

UnitVectors = Callable[[Chunk], np.ndarray]


@dataclass(frozen=True)
class Scored:
    clause: Clause
    index: int  # position of the unit in the clause
    sentence: str
    score: float
    dense: float
    lexical: float
    states_kind: bool  # states the kind of fact the question asks for (always True when none is asked)
    qualifiers_missing: float  # share of the question's places/years its clause never names


@dataclass(frozen=True)
class Extract:
    text: str
    quotes: dict[int, str]  # clause number -> the verbatim units quoted from it


_ATTACHMENT = re.compile(r"^附件\d*[:：]?")


def is_title(sentence: str, title: str) -> bool:
    """A unit that only repeats the document title (a TOC line, a “1.关于…的通知” item, “附件:关于…”) answers nothing."""
    core = _ITEM_NUMBER.sub("", _ATTACHMENT.sub("", compact(sentence))).rstrip("。;；:：")
    return bool(core) and core in compact(title)


_FILE_NAME = re.compile(r"(?:附件\s*\d*\s*[:：]?\s*)?[^。；;\n]{1,80}\.(?:pdf|docx?|xlsx?|wps|ofd|zip|rar)", re.IGNORECASE)


def is_file_name(sentence: str) -> bool:
    """A unit that is only an attachment's file name (“…拟认定名单.pdf”) names a file; it states nothing."""
    return bool(_FILE_NAME.fullmatch(sentence.strip()))


def score_units(
    question: str, qvec: np.ndarray, intent: Intent, clauses: Sequence[Clause], unit_vectors: UnitVectors,
    cfg: AnswerConfig, aliases: Sequence[tuple[str, Sequence[str]]] = (),
) -> list[Scored]:
    """Every quotable unit of ``clauses`` scored against the question, best first; ``aliases``: the everyday words
    it uses with their document words (:meth:`rag.retrieve.Colloquial.aliases`)."""
    wanted, topic = question_bigrams(question), topic_bigrams(question)
    # a figure the asker states of themselves (“去年10月才注册”, “这个60分的门槛”) is no word to match; a 文号's is
    said = [f for f in intent.said if not re.search(rf"(?<![\d.]){re.escape(f)}\s*号", question)]
    wanted = {b for b in wanted if not any(f in b for f in said)}
    kinds = intent.fact_kinds
    out: list[Scored] = []
    for rank, clause in enumerate(clauses):
        chunk = clause.chunk
        missing = missing_share(intent.qualifiers, [clause.chunk])
        for m in unit_matches(wanted, qvec, chunk, unit_vectors(chunk), aliases, topic, cfg.topic_weight):
            if (is_title(m.text, chunk.title) or is_file_name(m.text) or any(ins in m.text for ins in chunk.instructions)
                    or (_signs(m.text, chunk) and "issuer" not in intent.meta)):
                continue  # a title, a file name, a signing line (but to 谁发的) answer nothing; text to an assistant: never
            stated = not kinds or any(states(m.text, k, intent.said) for k in kinds)
            score = (cfg.unit_dense_weight * m.cos + (1 - cfg.unit_dense_weight) * m.lexical
                     - cfg.kind_penalty * (not stated) - cfg.qualifier_penalty * missing - cfg.rank_penalty * rank)
            out.append(Scored(clause, m.index, m.text, score, m.cos, m.lexical, stated, missing))
    return sorted(out, key=lambda s: (-s.score, s.clause.n, s.index))


def _signs(text: str, chunk: Chunk) -> bool:
    """Whether ``text`` is the line signing the notice (“科技部火炬中心” above its date): it answers who issued it,
    nothing else, however many of the question's words naming that issuer it shares."""
    unit = compact(text)
    return len(unit) >= 2 and unit in compact(chunk.issuer or "")


NextItems = Callable[[Scored], Sequence[Scored]]
Step = tuple[Sequence[Scored], Sequence[Scored]]  # a procedure's step: its heading units, then the units after them
# the steps of the procedure a unit's section describes ([] when the unit is in no such section): see
# :meth:`rag.answer.Answerer._steps`
Steps = Callable[[Scored], Sequence[Step]]
# a unit of the clause beside a unit's in its document, taken there when retrieval missed it: the closing unit of the
# clause before an item's that introduces its list (:meth:`rag.answer.Answerer._lead_in`), the best item of the list
# after a lead-in (:meth:`rag.answer.Answerer._item_after`)
Beside = Callable[[Scored], "Scored | None"]


def choose(
    scored: Sequence[Scored], intent: Intent, cfg: AnswerConfig, next_items: NextItems | None = None,
    steps: Steps | None = None, lead_in: Beside | None = None, item_after: Beside | None = None,
) -> list[Scored]:
    """The units to quote for this kind of question (see the module docstring), an overlong one cut to where it
    states the fact asked (:func:`_focus`).

    ``next_items(unit)``: the units of the clauses that follow the unit's clause as items of the
    same list (its next siblings in the document), for a list whose items the chunker cut apart;
    ``steps(unit)``: the steps of the procedure the unit's section describes; ``lead_in(unit)``: the unit introducing
    the list an item opens, and ``item_after(unit)`` the best item of the list a lead-in introduces, each from its
    document when it was not retrieved.
    """
    chosen = _choose(scored, intent, cfg, next_items, steps, lead_in, item_after)
    chosen = _with_kinds_stated(_with_relaxed_rules(chosen, scored), scored, intent)
    return [_focus(s, intent, cfg.answer_chars) for s in chosen]


def _with_kinds_stated(chosen: list[Scored], scored: Sequence[Scored], intent: Intent) -> list[Scored]:
    """``chosen`` with, for each kind of fact asked (“打哪个电话找谁？”: a phone and an office; “这条是哪个部门负责的？”:
    the “(省国税局负责)” closing the measure) that no chosen unit states, the best-scored unit of the first chosen
    one's clause that states it."""
    if not intent.fact_kinds or not chosen:
        return chosen
    out = list(chosen)
    for kind in intent.fact_kinds:
        if not any(states(s.sentence, kind, intent.said) for s in out):
            stating = next((s for s in scored if s.clause.n == chosen[0].clause.n and s not in out
                            and states(s.sentence, kind, intent.said)), None)
            out += [stating] if stating is not None else []
    return out


# a unit that lowers a threshold for some (“…专精特新…的制造业企业…申报门槛降低至500万(含)”), and how much of the
# rule it lowers the two share at least (“实际投资额(设备、外购技术、软件投入)”)
_RELAXES = re.compile(r"降低至|降低到|降至|放宽至|放宽到")
RULE_SHARED_CHARS = 8
PARALLEL_SHARED_CHARS = 20  # a run two units of one clause share to word the steps of one rule (dev: 12 and 20 alike)
_FIGURE_UNIT = re.compile(r"\s*\d+(?:\.\d+)?\s*([万亿千百]*[元%分个家]?)")


def _with_relaxed_rules(chosen: list[Scored], scored: Sequence[Scored]) -> list[Scored]:
    """``chosen`` with, before each unit that lowers a threshold for some, the rule it lowers when that was scored
    (the same document's unit stating a figure for the same thing): “门槛多少？专精特新的有没有降？” needs both
    the 1000万元 rule and the 500万 for 专精特新, and the exception alone reads as the rule."""
    out = list(chosen)
    for unit in chosen:
        relaxed = _RELAXES.search(unit.sentence)
        if relaxed is None:
            continue
        lowered = compact(unit.sentence[:relaxed.start()])
        to = _FIGURE_UNIT.match(unit.sentence, relaxed.end())  # “至500万”: the rule states a figure in 万 too
        if to is None:
            continue
        figure = re.compile(rf"\d\s*{re.escape(to.group(1))}")
        rule = next((s for s in scored if s not in out and s.clause.chunk.doc_id == unit.clause.chunk.doc_id
                     and not _RELAXES.search(s.sentence) and figure.search(s.sentence)
                     and _shared_run(lowered, compact(s.sentence)) >= RULE_SHARED_CHARS), None)
        if rule is not None:
            out.insert(out.index(unit), rule)
    return out


def _shared_run(a: str, b: str) -> int:
    """The length of the longest run of characters ``a`` and ``b`` share."""
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def _choose(
    scored: Sequence[Scored], intent: Intent, cfg: AnswerConfig, next_items: NextItems | None,
    steps: Steps | None, lead_in: Beside | None = None, item_after: Beside | None = None,
) -> list[Scored]:
    if not scored:
        return []
    best = scored[0]
    if intent.explains:  # “415X指什么”: the unit that defines the name is the answer, whatever else the parts ask
        defining = next((s for s in scored if defines(s.sentence, intent.explains)), None)
        if defining is not None:
            return [defining]
    row = labelled_row(scored, best, intent.places)  # “湖州每年新增多少家高企？” of a table by city: 湖州's row
    if intent.compare or len(intent.parts) > 1:  # the other parts ask more than the place's row (“全省…？丽水呢？”)
        chosen = _one_per_group(scored, intent, cfg, next_items, steps)
        return chosen + [s for s in row if s not in chosen]
    if row:
        return row
    run = _steps_of(scored, intent, cfg, steps)
    if run:
        return run
    if _quotes_a_run(intent.kinds):
        return _named_rows(scored, best, intent, cfg) or _list_items(scored, _introducing(scored, intent, cfg) or best,
                                                                     cfg, next_items)
    close = [s for s in scored[1:] if s.score >= best.score - cfg.keep_margin]
    # an overlong best unit (a notice's preamble): a close one that fits instead, though not another notice's when
    # the best is the top hit's (“这批一共拟认定了多少个” of a 公示: its 213 个, not a plan's 120 家以上; cut by _focus)
    if len(best.sentence) > cfg.answer_chars:
        best = next((s for s in close if len(s.sentence) <= cfg.answer_chars
                     and (best.clause.n != 1 or s.clause.chunk.doc_id == best.clause.chunk.doc_id)), best)
        close = [s for s in scored if s is not best and s.score >= best.score - cfg.keep_margin]
    chosen = [best]
    if set(intent.kinds) <= {"yes_no", "condition"} and "yes_no" in intent.kinds:  # one rule answers 能不能: its clause only,
        close = [s for s in close if s.clause.n == best.clause.n or _EXCLUSION.search(s.sentence)]  # and a close exception
    # units of clauses not yet quoted first: a second clause within the margin adds more than a
    # second sentence of the first (“软件业务收入利润率…” vs “…软件业务收入9152.9亿元”)
    for s in sorted(close, key=lambda s: s.clause.n == best.clause.n):
        if len(chosen) >= cfg.extract_sentences:
            break
        if _length(chosen) + len(s.sentence) > cfg.answer_chars or _too_many_clauses(chosen, s, cfg):
            continue
        chosen.append(s)
    intro = _introduction(scored, best, lead_in)
    if intro is not None and intro not in chosen:  # “1.企业拥有…证书” is one of the cases the rule before it names
        chosen.insert(chosen.index(best), intro)
    for lead in list(chosen):  # and a rule ending in the list it names (“…符合下列条件中的一项,…:”) gets its best item
        item = _introduced(scored, lead, item_after)
        if item is not None and item not in chosen and _length(chosen) + len(item.sentence) <= cfg.answer_chars:
            chosen.insert(chosen.index(lead) + 1, item)
    if len(best.sentence.strip()) < cfg.min_quote_chars:  # a short unit rarely carries a clause's whole point:
        after = sorted((s for s in scored if s.clause.n == best.clause.n and s.index > best.index), key=lambda s: s.index)
        for k, s in enumerate(after[:2]):  # the unit after it, and the next when it scores better and fits
            if s not in chosen and (k == 0 or (s.score > after[0].score
                                                and _length(chosen) + len(s.sentence) <= cfg.answer_chars)):
                chosen.append(s)
    if intent.fact_kinds and best.states_kind:  # a rule stated in steps (满2年…强制推动转化; 满 3 年…许可…实施):
        for s in scored:  # the other steps, worded alike in its clause
            if (s.clause.n == best.clause.n and s not in chosen and s.states_kind
                    and _shared_run(compact(best.sentence), compact(s.sentence)) >= PARALLEL_SHARED_CHARS
                    and _length(chosen) + len(s.sentence) <= cfg.answer_chars):
                chosen.append(s)
    if intent.several and intent.fact_kinds:  # the other figures asked for usually sit beside the first
        for s in sorted((s for s in scored if s.clause.n == best.clause.n and s.states_kind), key=lambda s: s.index):
            if s not in chosen and _length(chosen) + len(s.sentence) <= cfg.answer_chars:
                chosen.append(s)
    return chosen


_NUMBER_CELL = re.compile(r"(?:^|\t)\s*\d+(?:\.\d+)?\s*(?=\t|$)")
HEADER_ROWS = 2  # the rows above a table's first row of figures that name its columns, at most


def labelled_row(scored: Sequence[Scored], best: Scored, places: Sequence[str]) -> list[Scored]:
    """The row of the best unit's table whose label is a place asked (“湖州\t72\t290…”), under the rows above it
    that name the columns (“年度\t2016年…”); when the best unit's clause never names the place (the plan's
    province-wide target), the table whose row does; [] when there is none."""
    def labelled(s: Scored) -> bool:
        label = s.sentence.strip().split("\t", 1)[0].strip()
        return bool(label) and any(label.startswith(p) or p.startswith(label) for p in places)

    if not places:
        return []
    if best.qualifiers_missing:  # the best unit's clause never names the place: the best row naming it, anywhere
        best = next((s for s in scored if "\t" in s.sentence and labelled(s)), best)
    rows = sorted((s for s in scored if s.clause.n == best.clause.n and "\t" in s.sentence), key=lambda s: s.index)
    row = next((s for s in rows if labelled(s)), None)
    if row is None:
        return []
    return [s for s in rows if s.index < row.index and not _NUMBER_CELL.search(s.sentence)][-HEADER_ROWS:] + [row]


def _introduction(scored: Sequence[Scored], item: Scored, lead_in: Beside | None = None) -> Scored | None:
    """The unit introducing the list ``item`` opens (“…若同时符合下列条件中的一项,不受综合评价所得分值高低限制…:”,
    the last unit of the clause before it in its document, ending in a colon): the scored one when that clause was
    retrieved too, else ``lead_in``'s (“有高企证书还要60分吗” finds the item, and the rule it answers by is before it)."""
    chunk = item.clause.chunk
    if item.index != 0 or not _ITEM_NUMBER.match(item.sentence.strip()):
        return None
    before = [s for s in scored if s.clause.chunk.doc_id == chunk.doc_id and s.clause.chunk.ordinal == chunk.ordinal - 1]
    last = max(before, key=lambda s: s.index, default=None)
    if last is None:
        return lead_in(item) if lead_in is not None else None
    return last if last.clause.chunk.text.rstrip().endswith(("：", ":")) else None


def _introduced(scored: Sequence[Scored], lead: Scored, item_after: Beside | None = None) -> Scored | None:
    """The best-scored item of the list a clause's closing unit introduces (“…若同时符合下列条件中的一项,…:”): a unit
    of the next clause of its document (the chunker cut between them), scored when that clause was retrieved too,
    else ``item_after``'s."""
    chunk = lead.clause.chunk
    if not lead.sentence.rstrip().endswith(("：", ":")) or not chunk.text.rstrip().endswith(lead.sentence.strip()):
        return None
    found = next((s for s in scored if s.clause.chunk.doc_id == chunk.doc_id
                  and s.clause.chunk.ordinal == chunk.ordinal + 1), None)
    return found if found is not None or item_after is None else item_after(lead)


# a rule that excludes (“用户单位为关联企业及贸易商的,不得提出保费补贴申请”): close to a 能不能 question, it may be the answer
_EXCLUSION = re.compile(r"不得|不予|不能|不属于|不在[^，,。；;]{0,12}范围|除外|不受[^，,。；;]{0,16}限制")


def _named_rows(scored: Sequence[Scored], best: Scored, intent: Intent, cfg: AnswerConfig) -> list[Scored]:
    """For “浙江有哪些集群进了…名单” when the best unit's clause never names the place (a national list's first rows):
    the top units that name it or, for a province, one of its cities (“13 萧山临江高新区集成电路制造创新型产业集群
    萧山临江高新区 浙江省科技厅”, “宁波市江北区…产业集群”), in the notice's order; [] when the best clause names it or
    no unit does."""
    if not intent.places or not missing_share(intent.places, [best.clause.chunk]):
        return []
    named = within(intent.places)
    rows = [s for s in scored[: cfg.part_candidates] if any(p in compact(s.sentence) for p in named)]
    order = sorted(rows, key=lambda s: (s.clause.chunk.doc_id != best.clause.chunk.doc_id, s.clause.chunk.ordinal, s.index))
    return _within(order, cfg.list_chars)


_ASKED_NOUN = re.compile(r"(?:哪些|哪几[个项类种份样]?|什么)([\u4e00-\u9fff]{2})")
_INTRODUCES = r"(?:以下|下列|如下)[^，,。；;：:]{{0,6}}{noun}[^，,。；;：:]{{0,4}}[：:]\s*$"


def _introducing(scored: Sequence[Scored], intent: Intent, cfg: AnswerConfig) -> Scored | None:
    """For “要附哪些材料”, the best unit of a top clause that ends introducing a list of that noun (“…同时提交以下材料:”),
    whatever outranked it (the next step's sentence naming the same offices); None when no clause does."""
    nouns = {m.group(1) for part in intent.parts for m in _ASKED_NOUN.finditer(part)}
    for noun in nouns:
        ends = re.compile(_INTRODUCES.format(noun=re.escape(noun)))
        found = next((s for s in scored[: cfg.part_candidates] if ends.search(s.clause.chunk.text)), None)
        if found is not None:
            return found
    return None


def _quotes_a_run(kinds: Sequence[str]) -> bool:
    """A list is answered by its items, a procedure by its steps: the units that follow the one that starts them."""
    return "list" in kinds or "procedure" in kinds


def _length(chosen: Sequence[Scored]) -> int:
    return sum(len(s.sentence) for s in chosen)


def _too_many_clauses(chosen: Sequence[Scored], s: Scored, cfg: AnswerConfig) -> bool:
    return s.clause.n not in {c.clause.n for c in chosen} and len({c.clause.n for c in chosen}) >= cfg.max_citations


def _steps_of(scored: Sequence[Scored], intent: Intent, cfg: AnswerConfig, steps: Steps | None) -> list[Scored]:
    """For a question asking a procedure's stages, the steps of the section naming them that a top unit of the best
    unit's notice lies in: every step's heading; when each step's lead words fit ``list_chars`` too, those, each
    grown in the notice's order to its whole first sentence and then its second while they fit (“(二)县局核实。
    各县(市、区)市场监管局要对…”); [] when there is none (another notice's procedure answers nothing asked)."""
    if "steps" not in intent.kinds or steps is None or not scored:
        return []
    notice = scored[0].clause.chunk.doc_id
    run = next((r for s in scored[: cfg.part_candidates] if s.clause.chunk.doc_id == notice and (r := steps(s))), None)
    if not run:
        return []
    firsts = [bodies[:1] for _, bodies in run]
    leads = [[_cut(b[0])] if b else [] for b in firsts]
    quoted = [list(h) for h, _ in run]
    used = _length([u for units in quoted for u in units])
    if used + _length([u for lead in leads for u in lead]) <= cfg.list_chars:  # every step's lead words, …
        used += _length([u for lead in leads for u in lead])
        for k, lead in enumerate(leads):
            extra = _length(firsts[k]) - _length(lead)
            if firsts[k] and used + extra <= cfg.list_chars:  # … the whole first sentence of those it fits
                leads[k], used = firsts[k], used + extra
        for k, (_, bodies) in enumerate(run):  # … and a second one
            if leads[k] == firsts[k] and len(bodies) > 1 and used + len(bodies[1].sentence) <= cfg.list_chars:
                leads[k], used = [*leads[k], bodies[1]], used + len(bodies[1].sentence)
        quoted = [h + lead for h, lead in zip(quoted, leads)]
    return [u for units in quoted for u in units]


def _focus(unit: Scored, intent: Intent, limit: int) -> Scored:
    """An overlong unit (a notice's preamble) that states the fact asked only past ``limit`` characters, quoted from
    the phrase stating it (“……现将…等 46 家集群确定为创新型产业集群,…”), …… marking each cut; verbatim still."""
    text = unit.sentence.strip()
    if len(text) <= limit or not intent.fact_kinds or any(states(text[:limit], k, intent.said) for k in intent.fact_kinds):
        return unit
    start = 0
    while start < len(text):
        phrase = _lead(text[start:])
        if any(states(phrase, k, intent.said) for k in intent.fact_kinds):
            rest = text[start:]
            if len(rest) > limit:  # whole phrases up to the limit, the stating one at least
                end = len(phrase)
                while end < len(rest) and end + (step := len(_lead(rest[end + 1:])) + 1) <= limit:
                    end += step
                rest = rest[: end + 1].rstrip(",，;；:：") + GAP
            return replace(unit, sentence=GAP + rest)
        start += len(phrase) + 1
    return unit


def _cut(unit: Scored) -> Scored:
    """``unit`` cut to its lead words (:func:`_lead`), …… marking the cut."""
    lead = _lead(unit.sentence)
    return unit if len(lead) >= len(unit.sentence.rstrip("。;； ")) else replace(unit, sentence=lead + GAP)


def _one_per_group(
    scored: Sequence[Scored], intent: Intent, cfg: AnswerConfig, next_items: NextItems | None, steps: Steps | None,
) -> list[Scored]:
    """A comparison quotes the best unit of each of the two best documents; a multi-part question
    the best unit for each part (scored by the part's own bigrams and kind)."""
    chosen: list[Scored] = [scored[0]]
    # “宁波、温州、嘉兴各自主攻什么方向？”: places compared, each a part, are found by their parts in one notice
    per_place = len(intent.parts) > 1 and all(read_intent(part).places and not NOTICE_KIND.search(part)
                                              for part in intent.parts)
    if intent.compare and not per_place:
        first = scored[0].clause.chunk.doc_id
        other = [s for s in scored[1:] if s.clause.chunk.doc_id != first]
        # the other notice's best unit stating the kind asked, else one as close to the words asked as the best
        pick = next((s for s in other if s.states_kind), None) or next(
            (s for s in other if s.lexical >= scored[0].lexical / 2), None)
        if pick is not None:
            chosen.append(pick)
    lists = False
    for part in parts_of(intent) if len(intent.parts) > 1 else ():
        asks, later = part.asks, part.later

        def fit(s: Scored, part: Part = part) -> float:
            return part.fit(s, cfg)

        pick = max(scored[: cfg.part_candidates], key=fit)
        # a unit of a clause already quoted that fits nearly as well answers the part without another
        # citation (the second figure of “…多少项目？技改投资和覆盖率目标呢？” sits in the same clause)
        quoted = {c.clause.n for c in chosen}
        near = max((s for s in scored if s.clause.n in quoted and not any(q in compact(s.sentence) for q in later)),
                   key=fit, default=pick)  # not the unit that answers a later part's year
        if pick.clause.n not in quoted and fit(near) >= fit(pick) - cfg.part_quoted_margin:
            pick = near
        if pick in chosen:  # the unit quoted for an earlier part: the part's own unit of that clause, if it fits nearly as well
            own = max((s for s in scored if s.clause.n == pick.clause.n and s not in chosen), key=fit, default=None)
            if own is not None and fit(own) >= fit(pick) - cfg.part_quoted_margin:
                pick = own
        run = _steps_of(sorted(scored[: cfg.part_candidates], key=fit, reverse=True), asks, cfg, steps) \
            if "steps" in asks.kinds else []
        if run:
            lists = True
            have = {(c.clause.n, c.index) for c in chosen}
            chosen += [s for s in run if (s.clause.n, s.index) not in have]
        elif _quotes_a_run(asks.kinds):
            lists = True
            chosen += [s for s in _named_rows(scored, pick, asks, cfg) or _list_items(scored, pick, cfg, next_items)
                       if s not in chosen]
        elif pick not in chosen:
            chosen.append(pick)
    return chosen if lists else chosen[: cfg.extract_sentences + 1]


@dataclass(frozen=True)
class Part:
    """One part of a question of several, read as a question of its own."""

    asks: Intent
    wanted: frozenset[str]  # its own bigrams, less what every part asks (“…的数量目标各是多少”)
    named: tuple[str, ...]  # the places/years it and the parts before it name (“2022年浙江软件收入多少？在全国排第几？”)
    later: tuple[str, ...]  # the years only a later part names (“浙江5G基站建了多少？2027年要建到多少？”)

    def fit(self, s: Scored, cfg: AnswerConfig) -> float:
        """How well ``s`` answers this part: its score for the whole question, plus the share of the part's own
        bigrams it holds, less the qualifier penalty for the places/years the part names and its clause does not
        (and for a later part's year it names), less ``part_kind_penalty`` when it states no fact of the kind asked."""
        own_words = self.wanted - text_bigrams(s.clause.chunk.title)  # the notice's name finds it, not the unit in it
        overlap = len(own_words & text_bigrams(s.sentence)) / len(own_words) if own_words else 0.0
        kinds = self.asks.fact_kinds
        stated = not kinds or any(states(s.sentence, k, self.asks.said) for k in kinds)
        return (s.score + cfg.qualifier_penalty * (s.qualifiers_missing - missing_share(self.named, [s.clause.chunk])
                                                   - any(q in compact(s.sentence) for q in self.later))
                + overlap - cfg.part_kind_penalty * (not stated))


def parts_of(intent: Intent) -> list[Part]:
    """The parts of ``intent``'s question, each read like a question of its own."""
    asked = [question_bigrams(part) for part in intent.parts]
    shared = set.intersection(*asked)
    reads = [read_intent(part) for part in intent.parts]
    parts = []
    for at, (asks, own) in enumerate(zip(reads, asked)):
        named = tuple(dict.fromkeys(q for r in reads[: at + 1] for q in r.qualifiers))
        later = tuple(y for r in reads[at + 1:] for y in r.years if y not in named)
        parts.append(Part(asks, frozenset((own - shared) or own), named, later))
    return parts


def unrecorded_units(scored: Sequence[Scored], intent: Intent, cfg: AnswerConfig, record: Chunk | None = None,
                     ) -> list[Scored]:
    """The units answering the parts of a question of several that ask no field of the document record (“主题叫什么？”
    beside “是哪几个部门联合搞的？”), each the unit that best fits its part, of the ``record``'s notice (with the
    notice issuing it, or its attachments) when it has any (“这个公示的文号是啥？有问题打哪个电话？”: its phone, not
    another 公示's); [] when no such part.  A part opening “关于…” is the conversation's topic a follow-up was made
    standalone with (“关于…一共多少家？浙江入选的是哪几个，这个通知是谁发的？”), not asked."""
    units: list[Scored] = []
    candidates = scored[: cfg.part_candidates]
    if record is not None:
        family = {record.doc_id, record.parent_id} - {None}
        candidates = [s for s in candidates if family & {s.clause.chunk.doc_id, s.clause.chunk.parent_id}] or candidates
    for text, part in zip(intent.parts, parts_of(intent)) if len(intent.parts) > 1 else ():
        if not part.asks.meta and not text.startswith("关于") and scored:
            pick = max(candidates, key=lambda s, part=part: part.fit(s, cfg))
            if part.fit(candidates[0], cfg) >= part.fit(pick, cfg) - cfg.part_quoted_margin:
                pick = candidates[0]  # the best unit for the whole question, when it fits the part nearly as well
            units += [pick] if pick not in units else []
    return units


# a notice sent to every province (“各有关省、自治区、直辖市…科技厅”) is about the whole country
_EVERY_PROVINCE = "省、自治区、直辖市"


def mentions(text: str, name: str) -> bool:
    """Whether compacted ``text`` names ``name`` (a place, a year); 全国 is named by a notice to every province too
    (“全国一共认了多少家集群” of the 科技部 list, which never says 全国)."""
    return name in text or (name == "全国" and _EVERY_PROVINCE in text)


def missing_share(names: Sequence[str], chunks: Sequence[Chunk]) -> float:
    """The share of ``names`` (places, years) that ``chunks`` never name, in their text, headings or 文号."""
    everywhere = compact(" ".join(context_text(c) + (c.doc_number or "") + c.text for c in chunks))
    return sum(not mentions(everywhere, n) for n in names) / len(names) if names else 0.0


def _list_items(scored: Sequence[Scored], best: Scored, cfg: AnswerConfig, next_items: NextItems | None) -> list[Scored]:
    """The best unit and the units after it in the same clause (the list or steps it belongs to), within budget.

    A clause that ends introducing a list (“…符合下列条件中的一项…：”) is followed by the items of the
    next clause of its document, when that clause was retrieved too (the chunker cut between them), and by the
    items after that one (“同时提交以下材料:” then “1.…”, “2.…”, “3.…”, each a chunk);
    a clause that is itself one item (“(1)线上填写…申报表”) by the items after it (``next_items``).
    """
    def after(clause: Clause, start: int) -> list[Scored]:
        return sorted((s for s in scored if s.clause.n == clause.n and s.index >= start), key=lambda s: s.index)

    siblings = after(best.clause, best.index)
    chunk = best.clause.chunk
    if chunk.text.rstrip().endswith(("：", ":")):
        following = next((s.clause for s in scored if s.clause.chunk.doc_id == chunk.doc_id
                          and s.clause.chunk.ordinal == chunk.ordinal + 1), None)
        first = after(following, 0) if following is not None else []
        siblings += first + (next_items(first[0]) if first and next_items is not None else [])  # its next items too
    elif next_items is not None and _length(siblings) < cfg.list_chars:
        siblings += next_items(best)
    whole = _within(siblings, cfg.list_chars)
    if len(whole) < len(siblings):  # items left out: name the others by their lead words, if that fits more of them
        named = _within(_item_heads(siblings, whole=best.clause.n), cfg.list_chars)
        if len({s.clause.n for s in named}) > len({s.clause.n for s in whole}):
            return named
    return whole or [best]


def _within(units: Sequence[Scored], budget: int) -> list[Scored]:
    """The leading units of ``units`` that fit ``budget`` characters (the first always)."""
    chosen: list[Scored] = []
    for s in units:
        if chosen and _length(chosen) + len(s.sentence) > budget:
            break
        chosen.append(s)
    return chosen


def _item_heads(units: Sequence[Scored], whole: int) -> list[Scored]:
    """A list's units with each numbered item (a clause of its own) given by its lead words, up to its first comma
    outside brackets (“1.“聚能工厂”……”, “(2)《…备案通知书》或投资项目备案表”): a verbatim part that names the item,
    followed by …… where the item goes on.  The units of clause ``whole`` (the item the question matched best) and of no
    item (the clause introducing the list) stay whole."""
    out: list[Scored] = []
    done: set[int] = set()
    for s in units:
        path = s.clause.chunk.heading_path
        head = path[-1] if path else ""
        if s.clause.n == whole or not _ITEM_NUMBER.match(head):
            out.append(s)
            continue
        if s.clause.n in done:
            continue
        done.add(s.clause.n)
        own = [u for u in units if u.clause.n == s.clause.n]
        holder = next((u for u in own if head in u.sentence), None)
        if holder is None:
            out += own
        else:
            lead = _lead(holder.sentence[holder.sentence.index(head):])
            text = s.clause.chunk.text
            at = text.find(head)  # the heading was cut from this text; were it not found, say the item goes on
            goes_on = at < 0 or len(lead) < len(text[at:].rstrip("。;； \n"))
            out.append(replace(holder, sentence=lead + GAP if goes_on else lead))
    return out


_OPEN, _CLOSE, _LEAD_END = "(（“《【[", ")）”》】]", ",，;；。:："


def _lead(text: str) -> str:
    """``text`` up to its first comma, semicolon or full stop outside brackets and quotation marks."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch in _LEAD_END and depth == 0:
            return text[:i]
    return text


def quote(chosen: Sequence[Scored]) -> Extract:
    """The chosen units grouped by clause, each line cited [n]: documents in context order, a document's clauses in
    its own reading order (a list's items as the notice numbers them, whichever ranked higher)."""
    by_clause = {s.clause.n: s.clause for s in chosen}
    first: dict[str, int] = {}  # each document's best-placed clause
    for c in by_clause.values():
        first[c.chunk.doc_id] = min(first.get(c.chunk.doc_id, c.n), c.n)
    quotes: dict[int, str] = {}
    for n in sorted(by_clause, key=lambda n: (first[by_clause[n].chunk.doc_id], by_clause[n].chunk.ordinal)):
        picked = sorted((s for s in chosen if s.clause.n == n), key=lambda s: s.index)
        text = picked[0].sentence.strip()
        for before, s in zip(picked, picked[1:]):
            text += ("" if s.index == before.index + 1 else GAP) + s.sentence.strip()
        quotes[n] = text
    return Extract("\n".join([EXTRACT_LABEL, *(f"“{neutralise_markers(q)}”[{n}]" for n, q in quotes.items())]), quotes)


# ---------------------------------------------------------------- the document record

_SEALED_BY = re.compile(r"[(（][^()（）\n]{2,30}代章[)）]")  # the department that sealed a notice for its issuer
_SEVERAL = re.compile(r"等\s*[一二三四五六七八九十\d]+\s*个?部门")  # an issuer named as “工信部等五部门”
# the same departments listed in the text: “工业和信息化部、财政部、…、中国证监会等五部门”
_LISTED_BY = re.compile(r"[^，,。；;：:\s]{2,20}(?:、[^，,。；;：:\s、]{2,20}){1,12}等\s*[一二三四五六七八九十\d]+\s*个?部门")


def record_answer(
    intent: Intent, record: Chunk, best: Scored | None, document: Sequence[Chunk], number: Callable[[Chunk], int],
    part_units: Sequence[Scored] = (),
) -> Extract:
    """Answer a 文号/发文机关/日期/有效期 question from the document record ``record`` carries (the document the
    question names, else the top hit's: :func:`named_record`).

    Each field is given as the record holds it, followed by the clause that states it
    (``number(chunk)`` adds that clause to the context and returns its [n]); the validity
    sentence is quoted verbatim.  Fields the record lacks are said to be missing, not guessed.
    The best-scoring unit ``best`` is quoted after the record, unless a field's quote holds it: the question may
    ask more than the record holds (“文号多少？异议寄到哪里？”), or about a document the notice only cites.  When
    parts of the question ask no field, their own units (:func:`unrecorded_units`) are quoted instead, always.
    """
    c = record
    lines = [f"文件：《{c.title.strip('《》')}》"]
    quotes: dict[int, str] = {}

    def cite(value: str) -> str:
        holder = next((ch for ch in document if compact(value) in compact(ch.text)), None)
        if holder is None:
            return ""
        n = number(holder)
        unit = _unit_with(holder, value)  # every field cited shows its value in the quote
        quotes[n] = unit if n not in quotes else quotes[n] if unit in quotes[n] else quotes[n] + GAP + unit
        return f"[{n}]"

    wants = set(intent.meta) or {"docno", "issuer"}
    asked_docno = "docno" in wants or "issuer" in wants
    if c.doc_number and not asked_docno:  # the 文号 names the document whatever was asked, as its title does: uncited
        lines.append(f"文号：{c.doc_number}")
    elif asked_docno:
        lines.append(f"文号：{c.doc_number}{cite(c.doc_number)}" if c.doc_number else "文号：文件中未写明")
    if "issuer" in wants:
        sealed = next((m.group() for ch in document for m in [_SEALED_BY.search(ch.text)] if m), "")
        lines.append(f"发文机关：{c.issuer}{cite(c.issuer)}" if c.issuer else "发文机关：文件中未写明")
        if sealed:  # a 领导小组办公室 without a seal of its own signs “(浙江省经济和信息化厅代章)”
            lines.append(f"盖章：{sealed.strip('()（）')}{cite(sealed)}")
        listed = next((m.group() for ch in document for m in [_LISTED_BY.search(ch.text)] if m), "")
        if listed and _SEVERAL.search(c.issuer or ""):  # “工信部等五部门”: which five, as the text lists them
            lines.append(f"联合发文部门：{listed}{cite(listed)}")
    if "issued" in wants or "issuer" in wants:  # the date under the signature: where the issuers are listed too
        lines.append(f"成文日期：{cn_date(c.date)}{cite(cn_date(c.date))}" if c.date else "成文日期：文件中未写明")
    elif c.date and "docno" in wants:  # beside the 文号 asked, it dates the notice (the record's, as the 文号 is)
        lines.append(f"成文日期：{cn_date(c.date)}")
    if "valid" in wants:
        found = validity_unit(document)
        if found is not None:
            holder, unit = found
            n = number(holder)
            quotes[n] = unit
            lines.append(f"施行与有效期：“{neutralise_markers(unit)}”[{n}]")
        else:
            lines.append("施行与有效期：文件中未写明")
    for shown in part_units or ([best] if best is not None else []):
        unit, n = shown.sentence.strip(), shown.clause.n
        held = any(unit in q for q in quotes.values())
        if unit and (part_units or not held):
            if not held:
                quotes[n] = quotes[n] + GAP + unit if n in quotes else unit
            lines.append(f"“{neutralise_markers(unit)}”[{n}]")
    return Extract("\n".join([EXTRACT_LABEL, *lines]), quotes)


def merge_extracts(extracts: Sequence[Extract]) -> Extract:
    """One answer from several (a record per notice named), under one label; a clause quoted by two keeps both units."""
    if len(extracts) == 1:
        return extracts[0]
    lines, quotes = [EXTRACT_LABEL], {}
    for e in extracts:
        lines += e.text.splitlines()[1:]
        for n, unit in e.quotes.items():
            quotes[n] = unit if n not in quotes or unit in quotes[n] else quotes[n] + GAP + unit
    return Extract("\n".join(lines), quotes)


def record_holds(meta: Sequence[str], record: Chunk, document: Sequence[Chunk]) -> bool:
    """Whether the document record holds any of the fields asked (``Intent.meta``), or :func:`record_answer` would
    say of each only 文件中未写明 (a 文号 its clause quotes, of a notice it cites, counts: “依据哪个文件？文号多少？”)."""
    held = {"docno": lambda: bool(record.doc_number) or has_doc_number(record.text),
            "issuer": lambda: bool(record.issuer),
            "issued": lambda: bool(record.date),
            "valid": lambda: validity_unit(document) is not None}
    return any(held[m]() for m in meta)


def _unit_with(chunk: Chunk, value: str) -> str:
    """The unit of ``chunk`` that states ``value`` (compared compactly)."""
    key = compact(value)
    return next((u.strip() for _, u in quotable_units(chunk.text) if key in compact(u)), chunk.text[:120].strip())


# ---------------------------------------------------------------- refusals

def _subject(question: str) -> str:
    return question.strip().rstrip(" ？?。！!").removesuffix("吗").removesuffix("呢") or question


# kinds of notice a question may name its document by, which tell two notices on one subject apart
_DOC_KINDS = ("指导意见", "实施意见", "若干意见", "行动方案", "实施方案", "行动计划", "工作计划", "若干措施", "若干举措",
              "管理办法", "统计公报")


def named_record(question: str, hits: Sequence[Clause], share: float = 0.6) -> Clause:
    """The hit whose document a 文号/发文机关 question names: most of its title's bigrams are in the question
    (“国家那个进一步促进服务型制造发展的指导意见,文号是多少?” names the national 意见 even when the
    provincial one that cites it ranks first), else the first whose title has the kind of notice the question
    names when the first hit's has not (“国家层面…的那份指导意见”, the first hit a 实施意见); else the first hit."""
    wanted = question_bigrams(question)

    def named(clause: Clause) -> float:
        own = text_bigrams(clause.chunk.title)
        return len(wanted & own) / len(own) if own else 0.0

    best = max(hits, key=named)
    if named(best) >= share and named(best) > named(hits[0]):
        return best
    kind = next((k for k in _DOC_KINDS if k in question), None)  # “那份指导意见” is not the 实施意见 that cites it
    if kind and kind not in hits[0].chunk.title:
        return next((h for h in hits if kind in h.chunk.title), hits[0])
    return hits[0]



NAMING_CHARS = 8  # the words naming a notice: at most this many characters before its kind, in the same clause …
_NAMING = re.compile(r"[，,。？?；;]")  # … (“省政府办公厅同一天发了去杠杆方案”: 去杠杆, not the issuer every title has)
NAMED_BIGRAMS = 2  # title bigrams the words before a notice's kind must share to name it (成果转化 → …科技成果转化…)


def notice_names(question: str, at_least: int = 2) -> list[tuple[str, str]]:
    """(words, kind) for each notice a question names by its kind, when it names ``at_least`` (“AI产业那份指导意见和
    成果转化那份意见，各是几号文？” → (省里AI产业那份, 指导意见), (和成果转化那份, 意见)); else none."""
    kinds = list(NOTICE_KIND.finditer(question))
    starts = [0, *(k.end() for k in kinds)]
    return ([(_NAMING.split(question[a: k.start()])[-1][-NAMING_CHARS:], k.group()) for a, k in zip(starts, kinds)]
            if len(kinds) >= at_least else [])


def title_match(words: str, kind: str, title: str) -> int:
    """How well ``title`` fits a notice named by ``words`` and ``kind``: title bigrams shared with the words (0 below
    :data:`NAMED_BIGRAMS`), one more when the title has the kind and one more when it is the title's own kind (the
    行动方案 itself, not the 关于印发…行动方案的通知 whose record lacks the plan's own clauses)."""
    shared = len(question_bigrams(words) & text_bigrams(title))
    own = [k.group() for k in NOTICE_KIND.finditer(title)]
    return shared + (kind in title) + bool(own and kind in own[-1]) if shared >= NAMED_BIGRAMS else 0


_CITED_TITLE = re.compile(r"《([^《》]{4,80})》")


def cites_named(question: str, sentence: str, title: str) -> bool:
    """Whether ``sentence`` cites (in 《》) a notice the question names better than ``title`` fits it: “杭州打造全国专精
    特新名城的实施意见文号” of a notice citing “《杭州市人民政府办公厅关于打造全国专精特新名城的实施意见》(杭政办函…)”."""
    return any(title_match(words, kind, cited) > title_match(words, kind, title)
               for words, kind in notice_names(question, at_least=1) for cited in _CITED_TITLE.findall(sentence))


def not_found_text(question: str, clauses: Sequence[Clause], absent: Sequence[str] = ()) -> str:
    """Nothing relevant: say so (naming the programmes asked that no notice mentions), and name the nearest
    documents so the user can look."""
    unnamed = f"（现有文件均未提到“{'、'.join(absent)}”）" if absent else ""
    text = f"根据现有文件，未找到与“{_subject(question)}”相关的规定{unnamed}。"
    titles = list(dict.fromkeys(f"《{c.chunk.title.strip('《》')}》" for c in clauses))[:3]
    if titles:
        text += f"检索到的最接近的文件是：{'、'.join(titles)}（见下方条款，请自行核对）。"
    return text


_ASKED = {"grant": "具体补助或奖励金额", "grant_rate": "具体补助比例", "money": "具体金额或比例", "percent": "具体比例", "number": "具体数字", "score": "具体分数", "date": "具体日期或期限", "day": "具体日期",
          "month": "具体月份", "phone": "联系电话", "contact": "联系方式或地址", "web": "网址", "in_charge": "负责部门", "whom": "受理部门", "duration": "具体期限",
          "addressee": "发文范围", "list": "具体清单", "procedure": "具体办理流程", "condition": "相应条件", "yes_no": "明确规定",
          "docno": "文号", "issuer": "发文机关", "issued": "印发日期", "valid": "施行日期或有效期"}


def not_stated_text(question: str, intent: Intent, nearest: Scored, absent: Sequence[str] = ()) -> Extract:
    """The documents cover the topic but do not state what was asked: say exactly that (naming the places, years
    and ``absent`` programmes the nearest clause does not mention), quote what they do state."""
    asked = next((_ASKED[k] for k in (*intent.meta, *intent.kinds) if k in _ASKED), "相关规定")
    chunk = nearest.clause.chunk
    said = compact(" ".join([context_text(chunk), chunk.doc_number or "", chunk.text]))
    where = "、".join([*(q for q in intent.qualifiers if q not in said), *absent])
    missing = f"（该条款没有提到“{where}”）" if where else ""
    n = nearest.clause.n
    unit = nearest.sentence.strip()
    title = nearest.clause.chunk.title.strip("《》")
    text = (f"根据现有文件，未找到“{_subject(question)}”的{asked}{missing}。"
            f"最接近的规定是《{title}》中的：\n“{neutralise_markers(unit)}”[{n}]")
    return Extract(text, {n: unit})
