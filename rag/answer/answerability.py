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
  the question that the top documents / the best clause never name (宁波 asked, 杭州 answered); for a question of
  several parts, the best unit's whole document (“一共多少个？浙江有哪几个？”: the count's clause never says 浙江,
  the list beside it does), and for one comparing two notices, the top documents (“2016年的一转四创计划和2023年的
  315方案…分别…”: each names its own year);
- ``words_missing``: the IDF-weighted share of the question's words (those the corpus uses at all) that
  the top documents never use (残疾人 asked of notices without it; a word no clause holds, 工伤, weighs nothing;
  one the asker says of themselves, 我是开五金加工小厂的…, is not asked);
- ``legs_agree``: whether the dense and the lexical leg put the same clause first;
- ``margin``: how far the best unit stands above the next one.

A logistic regression over them is fitted on the dev splits only (:data:`REFIT_COMMAND`) and
stored as plain JSON beside this module, with its decision threshold ``answer_above`` (answered
vs refused), ``llm_floor`` (the only gate in front of an LLM), and a second, two-feature regression over :data:`NOT_FOUND_FEATURES` fitted on
the unanswerable dev rows, which labels a refusal ``not_found`` or ``not_stated``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.context import Clause
from rag.answer.extractive import Scored, mentions, missing_share, notice_names
from rag.intent import Intent, question_bigrams, states
from rag.records import Chunk
from rag.sentences import bigrams, context_text
from rag.textnorm import compact

FEATURES: tuple[str, ...] = ("unit_cos", "chunk_cos", "lexical", "doc_coverage", "kind_stated", "best_states_kind",
                             "stated_lexical", "stated_cos", "qualifiers_missing", "clause_qualifiers_missing",
                             "legs_agree", "margin", "words_missing")
# a refusal that found nothing relevant (not_found) vs one whose documents do not state the thing asked
# (not_stated): how much of the question the top documents mention, and how close the best clause is
NOT_FOUND_FEATURES: tuple[str, ...] = ("doc_coverage", "chunk_cos")
DEFAULT_MODEL = Path(__file__).with_name("answerability.json")
REFIT_COMMAND = "policy-rag eval --qa eval/qa-user.jsonl eval/qa-user-c.jsonl eval/qa-user-d.jsonl --fit-answerability"

ANSWERED, NOT_STATED, NOT_FOUND = "answered", "not_stated", "not_found"
OUTCOMES: tuple[str, ...] = (ANSWERED, NOT_STATED, NOT_FOUND)


def features(
    question: str, intent: Intent, clauses: Sequence[Clause], scored: Sequence[Scored],
    documents: Sequence[Sequence[Chunk]], word_weights: Mapping[str, float], top_units: int = 3, top_stated: int = 5,
) -> dict[str, float]:
    """The feature vector of one question (see the module docstring); ``documents`` are the top hits' documents,
    ``word_weights`` the question's words with their IDF (``HybridRetriever.word_weights``)."""
    hits = [c for c in clauses if c.is_hit]
    if not scored or not hits:
        return dict.fromkeys(FEATURES, 0.0)
    best = scored[0]
    wanted = question_bigrams(question)
    doc_text = compact(" ".join(context_text(ch) + ch.text + (ch.doc_number or "") for doc in documents for ch in doc))
    doc_bigrams = bigrams(doc_text)
    kinds = intent.fact_kinds
    stated = (not kinds) or any(states(s.sentence, k, intent.said) for s in scored[:top_units] for k in kinds)
    qualifiers = intent.qualifiers
    missing = sum(not mentions(doc_text, q) for q in qualifiers) / len(qualifiers) if qualifiers else 0.0
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
        "clause_qualifiers_missing": missing if intent.compare or len(notice_names(question)) > 1  # each its own year
        else _parts_qualifiers_missing(intent, scored, documents) if len(intent.parts) > 1 else best.qualifiers_missing,
        "words_missing": (sum(w for word, w in word_weights.items() if word not in doc_text) / sum(word_weights.values())
                          if any(word_weights.values()) else 0.0),
    }


def _parts_qualifiers_missing(intent: Intent, scored: Sequence[Scored], documents: Sequence[Sequence[Chunk]]) -> float:
    """``clause_qualifiers_missing`` of a question of several parts: each part may be answered by another clause."""
    doc = next((d for d in documents if d and d[0].doc_id == scored[0].clause.chunk.doc_id), ())
    return missing_share(intent.qualifiers, doc)


def unmentioned(names: Sequence[str], documents: Sequence[Sequence[Chunk]]) -> bool:
    """Whether none of ``names`` (the places or the years a question names) occurs in ``documents``: their titles,
    headings or text, not the year of a 文号, which dates the filing.  Rules in front of the model, not features
    of it (see :meth:`rag.answer.Answerer` ``_evidence``):

    - no year asked in the top documents: not stated (“那2024年的截止时间呢？” of notices on 2023; on the dev
      splits it held for 11 questions, all unanswerable, 3 of which the model answered; a question naming two
      years, one missing, was answerable, so every year asked must be missing); so too a round asked
      (“第二批”, ``Intent.batches``) of notices on another (“2024年第一批杭州市工信领域项目”);
    - the places of a question comparing nothing, none in the best unit's whole document: not stated (“那宁波有没有
      类似的奖励？” answered from a 杭州 notice; “宁波有没有类似杭州的算力券？补贴比例多少？”, whose 杭州 is only the
      model of a likeness; across the notices compared the best unit's document need not be the one naming the place).
    """
    if not names:
        return False
    text = compact(" ".join(context_text(ch) + ch.text for doc in documents for ch in doc))
    return not any(mentions(text, n) for n in names)


SIBLING_CHARS = 5  # a term at least this long that the corpus never uses …
SIBLING_TAIL = 3  # … and whose last this many characters the answering sentence uses in another term


_A_LITTLE = ("点", "些")  # 买点算力 is 买(一)点算力, not jieba's noun 买点 (a selling point) modifying 算力
SIBLING_RARITY = 11.0  # a modifier at least this rare in everyday Chinese (jieba's -log frequency: 工伤 13.8, 整理 10.3)
_TWO_HAN = re.compile(r"[\u4e00-\u9fff]{2}")


def sibling_modifier(
    question: str, word_weights: Mapping[str, float], sentence: str, rarity: Callable[[str], float],
    nominal: Callable[[str], bool],
) -> str | None:
    """A noun (``nominal``) no clause uses that modifies the question's next word, which the answering sentences use after
    another modifier (工伤保险费率 asked, “失业保险费率” stated; 小规模纳税人 asked, “一般纳税人” stated): the
    two-word form of :func:`sibling_term`, and a rule in front of the model like it.  A modifier sharing a character
    with the asked one rewords it (期间 for 时间段).  On the seven sets' dev parts
    it held for five questions, all unanswerable (工伤, 小规模 twice, 开店创业, 核定征收; four writers)."""
    q, text = compact(question), compact(sentence)
    heads = [h for h, w in word_weights.items() if w and len(h) >= 2]
    for word, weight in word_weights.items():
        if weight or word in text or not nominal(word) or rarity(word) < SIBLING_RARITY or word.endswith(_A_LITTLE):
            continue
        for at in re.finditer(re.escape(word), q):
            head = next((h for h in heads if q.startswith(h, at.end())), None)
            if head and any(_TWO_HAN.fullmatch(before := text[max(0, m.start() - 2):m.start()])
                            and not set(before) & set(word)  # “期间投保” for 时间段投保: the same modifier reworded
                            for m in re.finditer(re.escape(head), text)):
                return word + head
    return None


def sibling_term(word_weights: Mapping[str, float], sentence: str) -> str | None:
    """A term the question names that no clause uses, whose kind the answering sentences name in another term
    (个人所得税 asked, “减按15%税率征收企业所得税” stated): a rule in front of the model, like :func:`unmentioned`.
    On the six sets' dev splits it held for four questions, all unanswerable (all 个人所得税, four writers)."""
    text = compact(sentence)
    return next((w for w, weight in word_weights.items() if not weight and len(w) >= SIBLING_CHARS
                 and w not in text and w[-SIBLING_TAIL:] in text), None)


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
    not_found_coef: tuple[float, ...]  # over NOT_FOUND_FEATURES, standardised like the main model: P(not_found) of a refusal
    not_found_intercept: float
    llm_floor: float  # with an LLM, only questions below this P are refused (not_found) before the model sees them
    fitted_on: dict[str, Any] = field(default_factory=dict)  # what it was fitted on, and its dev figures

    def _standard(self, feats: dict[str, float], names: Sequence[str]) -> np.ndarray:
        at = [self.features.index(f) for f in names]
        x = np.array([feats[f] for f in names], dtype=np.float64)
        return (x - np.array(self.mean)[at]) / np.array(self.scale)[at]

    def probability(self, feats: dict[str, float]) -> float:
        return _sigmoid(float(np.dot(self._standard(feats, self.features), np.array(self.coef)) + self.intercept))

    @property
    def weights(self) -> dict[str, dict[str, float]]:
        """Both regressions' coefficients by feature name, for printing after a refit."""
        return {"answerable": dict(zip(self.features, self.coef)),
                "not_found": dict(zip(NOT_FOUND_FEATURES, self.not_found_coef))}

    def not_found_probability(self, feats: dict[str, float]) -> float:
        """P(nothing relevant was found), for a question already refused."""
        z = float(np.dot(self._standard(feats, NOT_FOUND_FEATURES), np.array(self.not_found_coef)) + self.not_found_intercept)
        return _sigmoid(z)

    def assess(self, feats: dict[str, float], gate: bool = True) -> Assessment:
        """``gate=False`` (an LLM decides what is stated) only separates ``not_found`` from the rest."""
        p = self.probability(feats)
        if not gate:
            outcome = NOT_FOUND if p < self.llm_floor else ANSWERED
        elif p >= self.answer_above:
            outcome = ANSWERED
        else:
            outcome = NOT_FOUND if self.not_found_probability(feats) >= 0.5 else NOT_STATED
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
            model = cls(**{**data, **{k: tuple(data[k]) for k in ("features", "mean", "scale", "coef", "not_found_coef")}})
        except (OSError, json.JSONDecodeError, TypeError, KeyError) as exc:
            raise ValueError(f"{p}: not a usable answerability model ({exc}); refit with `{REFIT_COMMAND}`") from exc
        if set(model.features) - set(FEATURES) or set(NOT_FOUND_FEATURES) - set(model.features):
            raise ValueError(f"{p}: features {list(model.features)} do not match {list(FEATURES)}; refit it")
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
    ``max_llm_false_refusal`` of them.  The not_found regression is fitted on the unanswerable rows
    alone (leave-one-out on dev: both features label .84 of them right, balanced, doc_coverage alone .76),
    weighted by their own mix.

    ``c`` (inverse regularisation) was chosen by repeated 5-fold cross-validation on the dev rows:
    in-sample AUC (.94) overstates what a fit on 202 rows does on unseen questions (.87), and a
    stronger penalty refuses more held-out unanswerable rows at the same threshold rule
    (C 1 -> 0.03: .54 -> .61, AUC .869 -> .874).
    """
    from sklearn.linear_model import LogisticRegression  # only refitting needs scikit-learn

    x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)
    y = np.asarray(answerable, dtype=bool)
    nf = np.asarray(not_found, dtype=bool)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit(z, y)
    at = [FEATURES.index(f) for f in NOT_FOUND_FEATURES]
    if (nf & ~y).any() and (~nf & ~y).any():
        # the dev rows' own mix of the two (about 2 not_stated : 1 not_found), not balanced: leave-one-out on the
        # pooled dev rows, balanced weights label .76 of each kind right, these .87 of not_stated and .52 of
        # not_found, at the same accuracy (.765); the issue sets its target on not_stated
        nf_lr = LogisticRegression(C=1.0, max_iter=1000).fit(z[~y][:, at], nf[~y])
        nf_coef, nf_intercept = tuple(nf_lr.coef_[0].round(6)), round(float(nf_lr.intercept_[0]), 6)
    else:  # one kind of refusal only: label every refusal that kind
        nf_coef, nf_intercept = (0.0,) * len(at), 50.0 if (nf & ~y).any() else -50.0
    model = AnswerabilityModel(FEATURES, tuple(mean.round(6)), tuple(scale.round(6)), tuple(lr.coef_[0].round(6)),
                               round(float(lr.intercept_[0]), 6), 0.5, nf_coef, nf_intercept, 0.0, dict(fitted_on or {}))
    p = np.array([model.probability(r) for r in rows])
    pos = np.sort(p[y])
    answer_above = float(pos[int(math.floor(max_false_refusal * len(pos)))]) - 1e-6 if len(pos) else 0.5
    llm_floor = min(float(pos[int(math.floor(max_llm_false_refusal * len(pos)))]) - 1e-6, answer_above) if len(pos) else 0.0
    refused = p < answer_above
    labelled_nf = np.array([model.not_found_probability(r) >= 0.5 for r in rows])
    figures = {
        "n": len(rows), "n_answerable": int(y.sum()), "n_unanswerable": int((~y).sum()),
        "auc": auc(p.tolist(), y.tolist()),
        "false_refusal": float(np.mean(p[y] < answer_above)) if y.any() else None,
        "unanswerable_refused": float(np.mean(p[~y] < answer_above)) if (~y).any() else None,
        "not_found_labelled": float(np.mean(refused[nf] & labelled_nf[nf])) if nf.any() else None,
        "not_stated_labelled": float(np.mean(refused[~y & ~nf] & ~labelled_nf[~y & ~nf])) if (~y & ~nf).any() else None,
    }
    return dataclasses.replace(model, answer_above=round(answer_above, 6), llm_floor=round(llm_floor, 6),
                               fitted_on={**(fitted_on or {}), "dev": figures})


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
