"""The default answer with no LLM: the best sentences of the top clauses, quoted verbatim.

A sentence is scored by the same embedder that retrieved its clause (query vs passage
cosine) plus the share of the question's content bigrams it contains (on ``fold``ed text,
with the clause's title and heading path counted at half weight, since a clause's subject
often sits in its heading).  The best sentence score is the *evidence* of the answer:
below ``cfg.answer.refuse_below`` the answer is an honest refusal instead of a quote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.answer.context import Clause, bigrams, split_sentences
from rag.textnorm import compact, fold

EXTRACT_LABEL = "（以下为从文件中摘录的原文）"
GAP = "……"  # between quoted sentences of one clause that are not adjacent in it
DENSE_WEIGHT = 0.5
# Sentences scoring within this of the best are quoted too.  An absolute margin, since every
# sentence carries a large dense baseline (cosines of e5 sit around 0.8), so ratios mean little.
KEEP_MARGIN = 0.05
QUESTION_WORDS = re.compile(
    r"请问|是什么|有哪些|哪些|什么|多少|几个|几家|几项|第几|如何|怎么样|怎样|怎么|是否|有没有|有无|吗|呢|吧|哪个|哪里|哪"
)
_MIN_SENTENCE_CHARS = 6
# What a question asks for, and what a sentence must contain to be an answer of that kind.
# A sentence of the wrong kind (no figure for “多少钱”) loses TYPE_PENALTY: near-misses
# (the right document, but the amount is not stated) are the typical unanswerable question.
_QUANTITY = r"(?<![\d.])(?!(?:19|20)\d{2}\s*年)\d+(?:\.\d+)?\s*"
_ASKS = {
    "date": re.compile(r"什么时候|何时|哪天|哪一天|几月|日期|截止时间|期限|有效期|多久|多长时间"),
    "number": re.compile(r"多少|几[个家项年天批类名人次倍]|比例|百分之|多大|上限|最高|标准是"),
    "money": re.compile(r"多少钱|金额|(?:奖励|补助|补贴|资助|奖补|支持)多少|多少(?:资金|经费|补贴|奖励|补助)"),
}
_HAS = {
    "date": re.compile(r"\d\s*[年月日]|工作日|\d+\s*天|[一二三四五六七八九十两]+(?:年|个月|天|日)|年底|月底"),
    "number": re.compile(_QUANTITY + r"(?:%|[万亿千百]|[元个家项倍名人次分件批类所亩天年]|个月|平方米)"
                         r"|[一二三四五六七八九十两百千万亿]+(?:元|万|亿|%|个|家|项|倍|名|人|次)|百分之"),
    "money": re.compile(_QUANTITY + r"(?:[万亿千百]*元|%)|百分之"),
}
TYPE_PENALTY = 0.1
# A place or year the question names (宁波市, 2024年度) that the clause never mentions makes the
# clause about somewhere or some time else, however similar the wording: a typical near-miss.
_QUALIFIER = re.compile(r"(?<![全本各该城省市县区超都])([\u4e00-\u9fff]{2,3}?)[省市]|((?:19|20)\d{2})年")
QUALIFIER_PENALTY = 0.15
_ITEM_NUMBER = re.compile(r"^(?:\d{1,2}[.、]|[一二三四五六七八九十]+、|\([一二三四五六七八九十\d]+\))")


class Embedder(Protocol):
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Scored:
    clause: Clause
    index: int  # position of the sentence in the clause
    sentence: str
    score: float
    dense: float
    lexical: float


@dataclass(frozen=True)
class Extract:
    text: str
    quotes: dict[int, str]  # clause number -> the verbatim sentences quoted from it
    evidence: float


def question_bigrams(question: str) -> set[str]:
    """Content bigrams of a question: interrogative words are cut out, not bridged over."""
    return bigrams(QUESTION_WORDS.sub(" ", fold(question)))


def answer_units(text: str) -> list[str]:
    """Sentences of a clause, a lead-in (“须同时满足以下条件:”) joined to what it introduces.

    A lead-in states nothing by itself, so one left at the end of a clause is dropped.
    """
    units: list[str] = []
    pending = ""
    for sentence in split_sentences(text):
        if sentence.rstrip().endswith((":", "：")):
            pending += sentence
            continue
        units.append(pending + sentence)
        pending = ""
    return units


def is_title(sentence: str, title: str) -> bool:
    """A sentence that only repeats the document title (a TOC line, a “1.关于…的通知” item) answers nothing."""
    core = _ITEM_NUMBER.sub("", compact(sentence)).rstrip("。;；:：")
    return bool(core) and core in compact(title)


def score_sentences(question: str, clauses: Sequence[Clause], embedder: Embedder) -> list[Scored]:
    """Every sentence of ``clauses`` scored against ``question``, best first."""
    items = [
        (clause, i, s)
        for clause in clauses
        for i, s in enumerate(answer_units(clause.chunk.text))
        if len(s.strip()) >= _MIN_SENTENCE_CHARS and not is_title(s, clause.chunk.title)
    ]
    if not items:
        return []
    q = embedder.embed_queries([question])[0]
    dense = embedder.embed_passages([s.strip() for _, _, s in items]) @ q
    wanted = question_bigrams(question)
    kinds = [kind for kind, asks in _ASKS.items() if asks.search(question)]
    if "money" in kinds:  # an amount of money is the specific kind of number asked for
        kinds = [kind for kind in kinds if kind != "number"]
    qualifiers = {a or b for a, b in _QUALIFIER.findall(compact(question))}
    scored = []
    for (clause, i, sentence), cos in zip(items, dense, strict=True):
        own = bigrams(fold(sentence))
        context = fold(" ".join([clause.chunk.title, *clause.chunk.heading_path, clause.chunk.issuer or ""]))
        heading = bigrams(context)
        everywhere = compact(" ".join([context, clause.chunk.doc_number or "", clause.chunk.text]))
        lexical = (len(wanted & own) + 0.5 * len(wanted & (heading - own))) / len(wanted) if wanted else 0.0
        score = DENSE_WEIGHT * float(cos) + (1 - DENSE_WEIGHT) * lexical
        if kinds and not any(_HAS[kind].search(sentence) for kind in kinds):
            score -= TYPE_PENALTY
        if qualifiers:  # proportional, so “2016年…和2023年…” comparisons are not punished in full
            score -= QUALIFIER_PENALTY * sum(q not in everywhere for q in qualifiers) / len(qualifiers)
        scored.append(Scored(clause, i, sentence, score, float(cos), lexical))
    return sorted(scored, key=lambda s: (-s.score, s.clause.n, s.index))


def extract(scored: Sequence[Scored], max_sentences: int, max_clauses: int) -> Extract:
    """Quote the best sentences, grouped by clause in context order, each line cited [n]."""
    if not scored:
        return Extract("", {}, 0.0)
    best = scored[0].score
    chosen: list[Scored] = []
    clauses: set[int] = set()
    for s in scored:
        if len(chosen) >= max_sentences or s.score < best - KEEP_MARGIN:
            break
        if s.clause.n not in clauses and len(clauses) >= max_clauses:
            continue
        clauses.add(s.clause.n)
        chosen.append(s)
    quotes: dict[int, str] = {}
    lines = [EXTRACT_LABEL]
    for n in sorted(clauses):
        picked = sorted((s for s in chosen if s.clause.n == n), key=lambda s: s.index)
        quote = picked[0].sentence.strip()
        for before, s in zip(picked, picked[1:]):
            quote += ("" if s.index == before.index + 1 else GAP) + s.sentence.strip()
        quotes[n] = quote
        lines.append(f"“{quote}”[{n}]")
    return Extract("\n".join(lines), quotes, best)


def refusal(question: str, clauses: Sequence[Clause]) -> str:
    """The honest “not found” answer, pointing at what the nearest documents do cover."""
    subject = question.strip().rstrip(" ？?。！!").removesuffix("吗").removesuffix("呢")
    text = f"根据现有文件，未找到与“{subject or question}”相关的规定。"
    titles = list(dict.fromkeys(f"《{c.chunk.title.strip('《》')}》" for c in clauses))[:3]
    if titles:
        text += f"现有文件中与此最接近的是：{'、'.join(titles)}，可换个问法或查阅这些文件。"
    return text


def calibrate_refusal(
    score: Callable[[str], float], qa_items: Iterable[Mapping[str, object]], min_kept: float = 0.9
) -> float:
    """The ``refuse_below`` threshold that best separates answerable from unanswerable items.

    ``score(question)`` is the evidence of the best sentence (``Answerer.evidence``);
    items of ``type == "unanswerable"`` should fall below the threshold, all others above.
    The criterion is balanced accuracy (the set has far fewer negatives than positives),
    among thresholds that still answer at least ``min_kept`` of the answerable items: an
    extractive answer is verbatim and cited, so wrongly refusing costs the user more than
    quoting the nearest clause.  Ties go to the median threshold, away from both edges.
    """
    labelled = [(float(score(str(item["question"]))), item.get("type") != "unanswerable") for item in qa_items]
    if not any(ok for _, ok in labelled) or all(ok for _, ok in labelled):
        raise ValueError("calibration needs both answerable and unanswerable items")
    values = sorted({s for s, _ in labelled})
    candidates = [values[0] - 1e-3] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-3]
    pos = [s for s, ok in labelled if ok]
    neg = [s for s, ok in labelled if not ok]

    def balanced(t: float) -> float:
        return (sum(s >= t for s in pos) / len(pos) + sum(s < t for s in neg) / len(neg)) / 2

    allowed = [t for t in candidates if sum(s >= t for s in pos) >= min_kept * len(pos)] or candidates[:1]
    candidates = allowed
    accuracy = [balanced(t) for t in candidates]
    best = [t for t, a in zip(candidates, accuracy) if a == max(accuracy)]
    return round(best[len(best) // 2], 4)
