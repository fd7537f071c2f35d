"""Metric functions of the evaluation, pure and small so each is tested on hand-made cases.

Why one comparison form (:func:`match_form`): gold evidence is copied verbatim from the raw
extraction (PDF-break spaces, ``2 亿元``, escaped ``\\"`` quotes) while chunks hold cleaned text;
comparing both after :func:`rag.textnorm.compact` (and without escape backslashes, which the
cleaner deletes) makes "the chunk contains the evidence" mean the same thing on both sides.

Conventions: a *rank* is 1-based; ``None`` means "not found" (rank) or "undefined" (a metric
over an empty set), never NaN, so reports stay valid JSON.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.answer.answerability import auc
from rag.textnorm import compact

_CITATION_MARK = re.compile(r"\[\d+\]")
# Punctuation and symbols carry no content for character F1 (CJK and ASCII forms, after NFKC).
_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65!-/:-@\[-`{-~“”‘’…—·、]")


def match_form(text: str) -> str:
    """The form in which evidence, key facts and texts are compared: compact, no escape backslashes."""
    return compact(text).replace("\\", "")


def contains_any(text: str, needles: Iterable[str]) -> bool:
    """Whether ``text`` contains at least one needle, both in :func:`match_form`."""
    hay = match_form(text)
    return any(match_form(n) in hay for n in needles if n)


def first_hit_rank(texts: Sequence[str], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first text containing any evidence string, or ``None``."""
    forms = [match_form(e) for e in evidence if e]
    for rank, text in enumerate(texts, start=1):
        hay = match_form(text)
        if any(f in hay for f in forms):
            return rank
    return None


def evidence_coverage(texts: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of evidence strings found in at least one of the top-``k`` texts (1.0 = full coverage)."""
    forms = [match_form(e) for e in evidence if e]
    if not forms:
        return 0.0
    hays = [match_form(t) for t in texts[:k]]
    return sum(any(f in h for h in hays) for f in forms) / len(forms)


def hit_at(rank: int | None, k: int) -> float:
    """1.0 when the first hit is within the top ``k``."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    """1/rank when the first hit is within the top ``k``, else 0 (MRR@k is its mean)."""
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def strip_citations(text: str) -> str:
    """Answer text without ``[n]`` citation markers, so they do not count as characters."""
    return _CITATION_MARK.sub("", text)


def _chars(text: str) -> Counter[str]:
    return Counter(_PUNCT.sub("", match_form(strip_citations(text))))


def char_f1(prediction: str, gold: str) -> float:
    """Bag-of-characters F1 (the usual Chinese-QA token F1 with characters as tokens).

    Punctuation, whitespace and citation markers are ignored; both sides are folded first."""
    pred, ref = _chars(prediction), _chars(gold)
    overlap = sum((pred & ref).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float:
    """Share of key facts that occur in the answer (after folding); 0 when there are none."""
    facts = [match_form(f) for f in key_facts if f.strip()]
    if not facts:
        return 0.0
    hay = match_form(strip_citations(answer))
    return sum(f in hay for f in facts) / len(facts)


def citation_precision(cited_texts: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of cited clauses that contain an evidence string; ``None`` when nothing is cited."""
    if not cited_texts:
        return None
    return sum(contains_any(t, evidence) for t in cited_texts) / len(cited_texts)


def refusal_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float | None]:
    """Refusal precision/recall against the unanswerable items, and the false-refusal rate.

    precision = refused unanswerable / refused; recall = refused unanswerable / unanswerable;
    false-refusal rate = refused answerable / answerable.  Undefined ratios are ``None``."""
    r = np.asarray(refused, dtype=bool)
    u = np.asarray(unanswerable, dtype=bool)
    tp = int(np.sum(r & u))
    return {
        "refusal_precision": _ratio(tp, int(r.sum())),
        "refusal_recall": _ratio(tp, int(u.sum())),
        "false_refusal_rate": _ratio(int(np.sum(r & ~u)), int((~u).sum())),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), ``None`` for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values; ``None`` when none is defined."""
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class ItemScores:
    """What one system scored on one question; the unit :func:`aggregate` averages.

    ``answers`` is False for retrieval-only systems, whose answer fields are ignored."""

    type: str
    unanswerable: bool
    rank: int | None = None  # first retrieved chunk containing evidence
    full_coverage: float = 0.0  # 1.0 when every evidence string is in the top 10
    answers: bool = False
    refused: bool = False
    key_fact_recall: float = 0.0
    char_f1: float = 0.0
    citation_precision: float | None = None
    n_citations: int = 0
    n_unsupported: int = 0
    latency_s: float = 0.0
    faithfulness: float | None = None  # LLM-judge share of supported sentences, when judged
    outcome: str = ""  # what the system said: answered | not_stated | not_found
    expected_outcome: str = ""  # the gold refusal kind of an unanswerable item, when the set gives one
    answerability: float | None = None  # the system's P(answerable), when it has one


HIT_KS: tuple[int, ...] = (1, 3, 5, 10)
MRR_K = 10


def aggregate(rows: Sequence[ItemScores], curve_to: int = 10) -> dict[str, Any]:
    """Every metric over ``rows``: retrieval and answer metrics on answerable items only,
    refusal metrics over all of them, latency over all of them."""
    ans = [r for r in rows if not r.unanswerable]
    out: dict[str, Any] = {"n": len(rows), "n_answerable": len(ans), "n_unanswerable": len(rows) - len(ans)}
    ranks = [r.rank for r in ans]
    for k in HIT_KS:
        out[f"hit@{k}"] = mean(hit_at(x, k) for x in ranks)
    out[f"mrr@{MRR_K}"] = mean(reciprocal_rank(x, MRR_K) for x in ranks)
    out["full_coverage@10"] = mean(r.full_coverage for r in ans)
    out["hit_curve"] = [mean(hit_at(x, k) for x in ranks) for k in range(1, curve_to + 1)]
    if rows and rows[0].answers:
        given = [r for r in ans if not r.refused]
        out["key_fact_recall"] = mean(r.key_fact_recall for r in ans)
        out["char_f1"] = mean(r.char_f1 for r in ans)
        out["citation_precision"] = mean(r.citation_precision for r in ans)
        out["cited_share"] = mean(float(r.n_citations > 0) for r in given)
        out["unsupported_rate"] = mean(float(r.n_unsupported > 0) for r in given)
        out.update(refusal_scores([r.refused for r in rows], [r.unanswerable for r in rows]))
        for kind in ("not_stated", "not_found"):  # refusals given the right label, of those the set labels
            labelled = [r for r in rows if r.unanswerable and r.expected_outcome == kind]
            told = labelled and any(r.outcome for r in rows)  # systems that never say why they refuse: undefined
            out[f"{kind}_labelled"] = mean(float(r.outcome == kind) for r in labelled) if told else None
        scored = [r for r in rows if r.answerability is not None]
        out["answerability_auc"] = auc([r.answerability for r in scored], [not r.unanswerable for r in scored])
        out["faithfulness"] = mean(r.faithfulness for r in given)
    latencies = [r.latency_s for r in rows]
    out["latency_p50_s"] = percentile(latencies, 50)
    out["latency_p95_s"] = percentile(latencies, 95)
    return out


def aggregate_by_type(rows: Sequence[ItemScores], types: Sequence[str]) -> dict[str, dict[str, Any]]:
    """:func:`aggregate` per question type, in the given order, for the types present."""
    return {t: aggregate([r for r in rows if r.type == t]) for t in types if any(r.type == t for r in rows)}
