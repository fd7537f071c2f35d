"""Is the question answered by the retrieved clauses?  Features that survive paraphrase, and a small model.

Why not one score and a threshold: a cosine-plus-overlap score drops by ~0.1 when a question
is paraphrased, so a threshold fitted on document-worded questions refuses a third of
user-worded ones.  The features below ask instead what a careful reader asks:

- ``unit_cos`` / ``chunk_cos``: how close the best sentence and the best clause are (dense);
- ``lexical``: the share of the question's content bigrams in the best unit (+ headings);
- ``doc_coverage``: the share of them anywhere in the top documents (paraphrase moves words
  between sentences far more than it removes them from the document);
- ``kind_stated`` / ``best_states_kind``: whether a top unit / the best unit states the kind of
  fact asked (an amount for 补多少钱); 1 when no kind is asked;
- ``stated_lexical`` / ``stated_cos``: how close the best units that *do* state that kind are
  to the question (an amount for another object — “每年新增200项” for “每个项目奖多少”);
- ``qualifiers_missing`` / ``clause_qualifiers_missing``: the share of places/years named in
  the question that the top documents / the best clause never name (宁波 asked, 杭州 answered);
- ``legs_agree``: whether the dense and the lexical leg put the same clause first;
- ``margin``: how far the best unit stands above the next one.

A logistic regression over them is fitted on the dev split only (``policy-rag eval --qa
eval/qa-user.jsonl --fit-answerability``) and stored as plain JSON beside this module, with
its decision thresholds: ``answer_above`` (answered vs refused), ``not_found_coverage`` (a
refusal that found nothing relevant vs one whose documents do not state the thing asked) and
``llm_floor`` (the only gate in front of an LLM).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.context import Clause
from rag.answer.extractive import Scored
from rag.intent import Intent, question_bigrams, states
from rag.records import Chunk
from rag.sentences import bigrams, context_text
from rag.textnorm import compact

FEATURES: tuple[str, ...] = ("unit_cos", "chunk_cos", "lexical", "doc_coverage", "kind_stated", "best_states_kind",
                             "stated_lexical", "stated_cos", "qualifiers_missing", "clause_qualifiers_missing",
                             "legs_agree", "margin")
DEFAULT_MODEL = Path(__file__).with_name("answerability.json")

ANSWERED, NOT_STATED, NOT_FOUND = "answered", "not_stated", "not_found"
OUTCOMES: tuple[str, ...] = (ANSWERED, NOT_STATED, NOT_FOUND)


def features(
    question: str, intent: Intent, clauses: Sequence[Clause], scored: Sequence[Scored],
    documents: Sequence[Sequence[Chunk]], top_units: int = 3, top_stated: int = 5,
) -> dict[str, float]:
    """The feature vector of one question (see the module docstring); ``documents`` are the top hits' documents."""
    hits = [c for c in clauses if c.is_hit]
    if not scored or not hits:
        return dict.fromkeys(FEATURES, 0.0)
    best = scored[0]
    wanted = question_bigrams(question)
    doc_text = compact(" ".join(context_text(ch) + ch.text + (ch.doc_number or "") for doc in documents for ch in doc))
    doc_bigrams = bigrams(doc_text)
    kinds = intent.fact_kinds
    stated = (not kinds) or any(states(s.sentence, k) for s in scored[:top_units] for k in kinds)
    missing = (sum(q not in doc_text for q in intent.qualifiers) / len(intent.qualifiers)) if intent.qualifiers else 0.0
    first = hits[0].chunk
    dense_first = max(hits, key=lambda c: c.scores.get("dense", 0.0)).chunk
    lexical_first = max(hits, key=lambda c: c.scores.get("bm25", 0.0)).chunk
    return {
        "unit_cos": max(s.dense for s in scored),
        "chunk_cos": max(c.scores.get("dense", 0.0) for c in hits),
        "lexical": best.lexical,
        "doc_coverage": len(wanted & doc_bigrams) / len(wanted) if wanted else 0.0,
        "kind_stated": float(stated),
        "best_states_kind": float(best.states_kind),
        "stated_lexical": max((s.lexical for s in scored[:top_stated] if s.states_kind), default=0.0),
        "qualifiers_missing": missing,
        "legs_agree": float(dense_first.chunk_id == first.chunk_id == lexical_first.chunk_id),
        "margin": best.score - scored[1].score if len(scored) > 1 else 0.0,
        "stated_cos": max((s.dense for s in scored[:top_stated] if s.states_kind), default=0.0),
        "clause_qualifiers_missing": best.qualifiers_missing,
    }


@dataclass(frozen=True)
class Assessment:
    """The features of one question, the model's P(answerable) and the outcome it implies."""

    features: dict[str, float]
    probability: float
    outcome: str


@dataclass(frozen=True)
class AnswerabilityModel:
    """Standardised logistic regression over :data:`FEATURES`, with its thresholds; plain JSON, no pickle."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answer_above: float  # P(answerable) at or above which the extractive answer is given
    not_found_coverage: float  # a refusal whose doc_coverage is below this found nothing relevant (not_found)
    llm_floor: float  # with an LLM, only questions below this P are refused (not_found) before the model sees them
    fitted_on: dict[str, Any] = field(default_factory=dict)  # what it was fitted on, and its dev figures

    def probability(self, feats: dict[str, float]) -> float:
        x = np.array([feats[f] for f in self.features], dtype=np.float64)
        z = float(np.dot((x - np.array(self.mean)) / np.array(self.scale), np.array(self.coef)) + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def assess(self, feats: dict[str, float], gate: bool = True) -> Assessment:
        """``gate=False`` (an LLM decides what is stated) only separates ``not_found`` from the rest."""
        p = self.probability(feats)
        if not gate:
            outcome = NOT_FOUND if p < self.llm_floor else ANSWERED
        elif p >= self.answer_above:
            outcome = ANSWERED
        else:
            outcome = NOT_FOUND if feats["doc_coverage"] < self.not_found_coverage else NOT_STATED
        return Assessment(feats, p, outcome)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    @property
    def digest(self) -> str:
        """Short hash of the model as stored: the eval baseline records it to notice a refit."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()[:12]

    @classmethod
    def load(cls, path: str | Path = "") -> AnswerabilityModel:
        p = Path(path) if path else DEFAULT_MODEL
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            model = cls(**{**data, **{k: tuple(data[k]) for k in ("features", "mean", "scale", "coef")}})
        except (OSError, json.JSONDecodeError, TypeError, KeyError) as exc:
            raise ValueError(f"{p}: not a usable answerability model ({exc}); refit with "
                             "`policy-rag eval --qa eval/qa-user.jsonl --fit-answerability`") from exc
        if set(model.features) - set(FEATURES):
            raise ValueError(f"{p}: unknown features {sorted(set(model.features) - set(FEATURES))}; refit it")
        return model


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties count 1/2)."""
    pos = [s for s, y in zip(scores, positive) if y]
    neg = [s for s, y in zip(scores, positive) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def fit(
    rows: Sequence[dict[str, float]], answerable: Sequence[bool], not_found: Sequence[bool],
    max_false_refusal: float = 0.05, max_llm_false_refusal: float = 0.01, c: float = 0.03,
    fitted_on: dict[str, Any] | None = None,
) -> AnswerabilityModel:
    """Fit the model and choose its thresholds on the given (dev) rows.

    ``answer_above`` is the highest threshold that still answers at least ``1 - max_false_refusal``
    of the answerable rows (wrongly withholding a quote costs the user nearly as much as a wrong
    one, so the budget is on false refusals); ``llm_floor`` the highest that refuses at most
    ``max_llm_false_refusal`` of them; ``not_found_coverage`` best separates the ``not_found`` from
    the ``not_stated`` unanswerable rows by how much of the question the top documents mention.

    ``c`` (inverse regularisation) was chosen by repeated 5-fold cross-validation on the dev rows:
    in-sample AUC (.94) overstates what a fit on 202 rows does on unseen questions (.87), and a
    stronger penalty refuses more held-out unanswerable rows at the same threshold rule
    (C 1 -> 0.03: .54 -> .61, AUC .869 -> .874).
    """
    from sklearn.linear_model import LogisticRegression  # only refitting needs scikit-learn

    x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)
    y = np.asarray(answerable, dtype=bool)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit((x - mean) / scale, y)
    model = AnswerabilityModel(FEATURES, tuple(mean.round(6)), tuple(scale.round(6)), tuple(lr.coef_[0].round(6)),
                               round(float(lr.intercept_[0]), 6), 0.5, 0.0, 0.0, dict(fitted_on or {}))
    p = np.array([model.probability(r) for r in rows])
    pos = np.sort(p[y])
    answer_above = float(pos[int(math.floor(max_false_refusal * len(pos)))]) - 1e-6 if len(pos) else 0.5
    llm_floor = min(float(pos[int(math.floor(max_llm_false_refusal * len(pos)))]) - 1e-6, answer_above) if len(pos) else 0.0
    nf = np.asarray(not_found, dtype=bool)
    coverage = np.array([r["doc_coverage"] for r in rows])
    not_found_coverage = _best_split(coverage[~y], nf[~y])
    refused = p < answer_above
    figures = {
        "n": len(rows), "n_answerable": int(y.sum()), "n_unanswerable": int((~y).sum()),
        "auc": auc(p.tolist(), y.tolist()),
        "false_refusal": float(np.mean(p[y] < answer_above)) if y.any() else None,
        "unanswerable_refused": float(np.mean(p[~y] < answer_above)) if (~y).any() else None,
        "not_found_labelled": float(np.mean(refused[nf] & (coverage[nf] < not_found_coverage))) if nf.any() else None,
        "not_stated_labelled": (float(np.mean(refused[~y & ~nf] & (coverage[~y & ~nf] >= not_found_coverage)))
                                if (~y & ~nf).any() else None),
    }
    return AnswerabilityModel(FEATURES, model.mean, model.scale, model.coef, model.intercept, round(answer_above, 6),
                              round(not_found_coverage, 6), round(llm_floor, 6), {**(fitted_on or {}), "dev": figures})


def _best_split(coverage: np.ndarray, not_found: np.ndarray) -> float:
    """The doc_coverage below which a refusal is labelled not_found: best balanced accuracy on the unanswerable rows."""
    if not not_found.any() or not (~not_found).any():
        return 0.0
    candidates = sorted({0.0, *(float(v) + 1e-6 for v in coverage)})

    def balanced(t: float) -> float:
        return float(np.mean(coverage[not_found] < t) + np.mean(coverage[~not_found] >= t)) / 2

    return max(candidates, key=lambda t: (balanced(t), -t))
