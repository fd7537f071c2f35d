"""Retrieval: dense + keyword candidates from the store, fused with weighted RRF, filters, dedup, reranking.

Both retrievers see the same folded text (``rag.textnorm.fold``: NFKC, 繁→简, spaces in
numbers, canonical 文号), so “浙政办发[2023] 63 号”, “２．５ 亿元” and traditional
characters match the corpus.  BM25 tokens are jieba ``lcut_for_search`` words plus tokens
that keep codes whole: the 〔年〕号 core of every 文号 (with the 2–6 characters before it),
amounts with their magnitude (“2.5亿”), percentages, and the corpus's quoted programme names
(“415X”, “一月一链”, “算力券”) added to a private jieba dictionary.

``HybridRetriever(mode="hybrid"|"dense"|"bm25")`` serves all three modes through one
``search``, so evaluation compares them on equal terms.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from rag.config import RetrieveConfig
from rag.embed import Embedder
from rag.intent import (COUNT_WORD, QUESTION_WORDS, ZHEJIANG_CITIES, asked_term, asks_doc_number, asks_province,
                        asks_validity, defines, question_bigrams, without_field_asks)
from rag.lexical import PolicyTokenizer
from rag.records import Chunk, Hit
from rag.sentences import unit_matches, validity_unit
from rag.store import PLAIN_WORD, Filters, Ranked, Store, rrf
from rag.textnorm import compact, fold, has_doc_number

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


class QueryError(ValueError):
    """A query that cannot be searched (empty after trimming); the message says so in Chinese and English."""


@dataclass(frozen=True)
class Retrieval:
    """One search: the hits, the query actually used, and notes (e.g. truncation) for the user."""

    hits: list[Hit]
    query: str
    notes: tuple[str, ...] = ()


def limit_question(text: str, max_chars: int) -> tuple[str, tuple[str, ...]]:
    """The one question-length limit, applied before retrieval, scoring and prompts alike.

    Whitespace runs collapse, undecodable characters (lone surrogates from argv or a form)
    become U+FFFD, and text beyond ``max_chars`` is cut with a note the user sees.
    """
    q = " ".join((text or "").encode("utf-8", "replace").decode("utf-8").split())
    if len(q) <= max_chars:
        return q, ()
    return q[:max_chars], (f"问题过长（{len(q)} 字），已截取前 {max_chars} 字检索和作答 "
                           f"(question cut to {max_chars} characters)",)


# ---------------------------------------------------------------- retrievers

@dataclass(frozen=True)
class Colloquial:
    """Everyday words and abbreviations -> the words notices use (rag/data/colloquial.tsv, plus the user's file)."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def load(cls, extra: str = "") -> Colloquial:
        pairs: list[tuple[str, str]] = []
        for where, line in _word_list("colloquial.tsv", extra, "colloquial word table"):
            said, tab, meant = line.partition("\t")
            if not tab or not said.strip() or not meant.strip():
                raise ValueError(f"{where}: expected 'what people say<TAB>what documents say'")
            pairs.append((fold(said.strip()), meant.strip()))
        return cls(tuple(pairs))

    def expand(self, query: str) -> str:
        """``query`` plus the document words of every everyday word it contains."""
        extra = [" ".join(meant) for _, meant in self.aliases(query)]
        return query + (" " + " ".join(extra) if extra else "")

    def aliases(self, query: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each everyday word ``query`` contains with its document words (个体户 → 个体工商户): a sentence that uses
        the document's word holds the asker's (:func:`rag.sentences.unit_matches`)."""
        folded = fold(query)
        return tuple((said, tuple(meant.split())) for said, meant in self.pairs if said in folded)


def read_programmes(extra: str = "") -> tuple[str, ...]:
    """The programme names of rag/data/programmes.txt and of the user's ``extra`` list: one per line, ``#`` comments."""
    names: list[str] = []
    for where, line in _word_list("programmes.txt", extra, "programme list"):
        name = fold(line.strip())
        if not PLAIN_WORD.fullmatch(name):
            raise ValueError(f"{where}: expected one name of letters, digits or Chinese characters, got {name!r}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def _word_list(bundled: str, extra: str, what: str) -> Iterator[tuple[str, str]]:
    """The lines of rag/data/``bundled`` and then of the user's ``extra`` file that are neither blank nor ``#``
    comments, each with where it stands (``path:line``); a file that cannot be read is an error naming it."""
    for path in [Path(__file__).with_name("data") / bundled, *([Path(extra)] if extra else [])]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"{what} {path}: {exc.strerror or exc}") from exc
        yield from ((f"{path}:{number}", line) for number, line in enumerate(lines, 1)
                    if line.strip() and not line.lstrip().startswith("#"))


def word_lists(cfg: RetrieveConfig) -> dict[str, str]:
    """A digest of each word list the answers depend on (the colloquial table, the programme names), bundled and
    the user's: the regression gate's calibration record, so editing a list cannot silently outdate it."""
    colloquial = "\n".join(f"{said}\t{meant}" for said, meant in Colloquial.load(cfg.colloquial).pairs)
    return {"colloquial": hashlib.sha256(colloquial.encode()).hexdigest()[:16],
            "programmes": hashlib.sha256("\n".join(read_programmes(cfg.programmes)).encode()).hexdigest()[:16]}


def _spelt_alone(name: str, q: str, words: set[str]) -> bool:
    """Whether ``q`` names the two-character ``name`` somewhere rather than spelling it across two of its ``words``:
    not where its first character ends the word before it or its last starts the word after it (这个税收 holds 个税,
    生产假冒 holds 产假; 个税专项附加扣除 names 个税)."""
    return any((at == 0 or q[at - 1:at + 1] not in words) and q[at + 1:at + 3] not in words
               for at in (m.start() for m in re.finditer(re.escape(name), q)))


class Reranker(Protocol):
    """Reorders fused hits; gets the query and the candidates, returns them best first."""

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]: ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder (hub name in the offline cache, or local folder)."""

    def __init__(self, name_or_path: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(name_or_path, device="cpu")
        self.id = f"st:{name_or_path}"

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        if not hits:
            return []
        raw = self.model.predict([(query, h.chunk.embed_text()) for h in hits], show_progress_bar=False)
        scores = np.asarray(raw, dtype=np.float32).reshape(len(hits), -1)[:, -1]
        order = np.argsort(-scores, kind="stable")
        return [Hit(hits[i].chunk, float(scores[i]), rank=0, scores={**hits[i].scores, "rerank": float(scores[i])})
                for i in order]


def make_reranker(spec: str) -> Reranker | None:
    """``""`` -> no reranker; ``st:<cross-encoder name or path>`` -> :class:`CrossEncoderReranker`."""
    spec = spec.strip()
    if not spec:
        return None
    if spec.startswith("st:") and spec[3:].strip():
        return CrossEncoderReranker(spec[3:].strip())
    raise ValueError(f"unknown reranker {spec!r}: use '' (off) or 'st:<cross-encoder name or path>'")


_CITY_GOVERNMENT = re.compile(f"(?:{'|'.join(ZHEJIANG_CITIES)})市")


def _city_notice(chunk: Chunk) -> bool:
    """Whether ``chunk`` is of a city's notice: its issuer or title names a city (杭州市人民政府办公厅; “2024年第一批
    杭州市工信领域项目”), not the province."""
    issued = f"{chunk.issuer or ''} {chunk.title}"
    return bool(_CITY_GOVERNMENT.search(issued)) and "浙江省" not in issued


@functools.lru_cache(maxsize=1 << 14)
def _shingles(text: str, n: int = 3) -> frozenset[str]:
    """Character 3-grams of a clause, memoised: every question compares the same top clauses again."""
    t = compact(text)
    return frozenset(t[i:i + n] for i in range(max(1, len(t) - n + 1)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class HybridRetriever:
    """Dense + keyword candidates from the store, weighted reciprocal-rank fusion, best-sentence rerank,
    near-duplicate merge, optional cross-encoder.  The same for every store backend.

    ``mode`` picks ``hybrid`` (default), ``dense`` or ``bm25``.  ``Hit.score`` is the fused
    RRF score, the cosine or the BM25 score respectively; ``Hit.scores`` holds ``rrf``,
    ``bm25`` (0 outside the keyword leg's candidates) and (unless BM25-only, which never embeds
    the query) the ``dense`` cosine, so answers can be calibrated on either.  ``search`` returns
    hits and keeps the notes of the last call in ``last_notes``; use :meth:`retrieve` to get the
    notes with the hits (thread-safe).
    """

    def __init__(
        self, store: Store, embedder: Embedder, cfg: RetrieveConfig | None = None, mode: Mode = "hybrid",
        reranker: Reranker | None = None, words: PolicyTokenizer | None = None,
    ) -> None:
        """``words`` splits questions into words for :meth:`word_weights`; pass the service's one, since each
        tokenizer loads jieba's dictionary (about a second) on first use."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}")
        self.store, self.embedder = store, embedder
        self.cfg = cfg or RetrieveConfig()
        self.mode = mode
        self.words = words or PolicyTokenizer()
        self.colloquial = Colloquial.load(self.cfg.colloquial)
        self.programmes = read_programmes(self.cfg.programmes)
        self.reranker = reranker if reranker is not None else make_reranker(self.cfg.reranker)
        self.last_notes: tuple[str, ...] = ()

    def neighbours(self, chunk: Chunk, n: int) -> list[Chunk]:
        return self.store.neighbours(chunk.chunk_id, n)

    def unit_vectors(self, chunk: Chunk) -> np.ndarray:
        return self.store.unit_vectors([chunk.chunk_id])[0]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self.store.document_chunks(doc_id)

    def attachments(self, doc_id: str) -> list[Chunk]:
        """The chunks of the documents a notice issued (its attached 方案/意见, by ``parent_id``), in order."""
        return [c for d in self.store.documents() if d.parent_id == doc_id for c in self.store.document_chunks(d.doc_id)]

    def aliases(self, query: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The colloquial table's entries ``query`` uses (:meth:`Colloquial.aliases`)."""
        return self.colloquial.aliases(query)

    def uncovered(self, query: str) -> tuple[str, ...]:
        """The programme names (:func:`read_programmes`) ``query`` names that no stored clause contains: what it asks
        about is not in these notices (留抵退税, 六税两费 of notices on other taxes).  A name within a longer one named
        is that one's, and a longer one is held where a name within it is (住房公积金 where 公积金 is).  Computed
        against the index as it is, so a notice added on the topic covers it."""
        q = compact(fold(query))
        found = [n for n in self.programmes if n in q]
        words = set(self.words(q)) if any(len(n) == 2 for n in found) else set()
        named = [n for n in found if len(n) > 2 or _spelt_alone(n, q, words)]
        if not named:
            return ()
        held = {n for n, count in zip(named, self.store.containing(named)) if count}
        # 留抵 within 留抵退税 is that one's; 住房公积金 is held where 公积金 is
        return tuple(n for n in named if n not in held and not any(n != m and n in m for m in named)
                     and not any(m in n for m in held))

    def rarity(self, word: str) -> float:
        """How rare ``word`` is in everyday Chinese (:meth:`rag.lexical.PolicyTokenizer.rarity`)."""
        return self.words.rarity(word)

    def nominal(self, word: str) -> bool:
        """Whether ``word`` is a noun in jieba's dictionary (:meth:`rag.lexical.PolicyTokenizer.nominal`)."""
        return self.words.nominal(word)

    def word_weights(self, query: str) -> dict[str, float]:
        """The question's content words, each with its IDF over the clauses; a word no stored clause contains
        weighs 0 (the answer stage still sees it: 个人所得税 asked of a corpus that only says 企业所得税).

        jieba words of two or more characters, not inside a longer one of them; the colloquial table's
        everyday words, words common in everyday Chinese (``common_word_rarity``: 以后, 每个, 具体), question
        words and counts (哪四个, 几类, 一家) are left out: they are how the asker talks, not what is asked; so are
        the words asking for a field of the document record (文号, 印发日期) or a contact (网站, 电话), which its text
        need not use.  The answer stage asks whether the top documents hold the rest (残疾人 asked of notices that
        never say it).
        """
        words = [w for w in dict.fromkeys(self.words(without_field_asks(query)))
                 if len(w) >= 2 and not w.isdigit() and PLAIN_WORD.fullmatch(w)
                 and not QUESTION_WORDS.search(w) and not COUNT_WORD.fullmatch(w)
                 and self.words.rarity(w) >= self.cfg.common_word_rarity]
        words = [w for w in words if not any(w != v and w in v for v in words)
                 and not any(w in said or said in w for said, _ in self.colloquial.pairs)]
        if not words:
            return {}
        total = self.store.count()
        return {w: math.log((total + 1) / (n + 0.5)) if n else 0.0 for w, n in zip(words, self.store.containing(words))}

    def prepare(self, query: str) -> tuple[str, tuple[str, ...]]:
        """Trim, reject empty, truncate to ``max_query_chars`` (with a note)."""
        q, notes = limit_question(query, self.cfg.max_query_chars)
        if not q:
            raise QueryError("查询为空：请输入问题 (empty query)")
        return q, notes

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None) -> Retrieval:
        q, notes = self.prepare(query)
        k = k or self.cfg.k
        n = max(self.cfg.candidates, k)
        legs: dict[str, Ranked] = {}
        qvec = None
        if self.mode in ("hybrid", "dense"):
            qvec = self.embedder.embed_queries([fold(q)])[0]
            legs["dense"] = self.store.dense(qvec, n, filters)
        if self.mode in ("hybrid", "bm25"):
            lexical_q = self.colloquial.expand(q) if self.cfg.expand_colloquial else q  # also the words notices use
            legs["bm25"] = self.store.lexical(lexical_q, n, filters)
        if filters and not any(leg.ids for leg in legs.values()):
            return Retrieval([], q, notes + ("没有符合筛选条件的文件 (no document matches the filters)",))
        weights = {"dense": self.cfg.dense_weight, "bm25": self.cfg.bm25_weight}
        fused = rrf(list(legs.values()), [weights[name] for name in legs], len(legs) * n, self.cfg.rrf_k).as_dict()
        records = {c.chunk_id: c for c in self.store.chunks(list(fused))}
        fused = {cid: v for cid, v in fused.items() if cid in records}  # removed by a writer meanwhile
        order = sorted(fused, key=lambda c: -fused[c])
        best_units: dict[str, float] = {}
        if self.mode == "hybrid" and self.cfg.unit_rerank > 0 and qvec is not None:  # the best sentence of each top clause
            wanted, aliases = question_bigrams(q), self.colloquial.aliases(q)
            share = self.cfg.unit_rerank_dense_share
            top = order[: self.cfg.rerank_depth]
            for cid, units in zip(top, self.store.unit_vectors(top)):
                matches = unit_matches(wanted, qvec, records[cid], units, aliases)
                best_units[cid] = max((share * m.cos + (1 - share) * m.lexical for m in matches), default=0.0)
                fused[cid] += self.cfg.unit_rerank * best_units[cid]
            order = sorted(fused, key=lambda c: -fused[c])
        term = asked_term(q) if self.mode == "hybrid" and self.cfg.definition_first else None
        defining = next((cid for cid in order if defines(records[cid].text, term)), None) if term else None
        if defining is not None:  # “415X指什么”: the clause that defines the name, not the many that use it
            order = [defining, *(cid for cid in order if cid != defining)]
        if self.mode == "hybrid" and self.cfg.province_first and asks_province(q):  # “省里那个AI意见…” not 杭州's
            order = sorted(order, key=lambda cid: _city_notice(records[cid]))  # stable: the province's, then the cities'
        bm25 = legs["bm25"].as_dict() if "bm25" in legs else {}
        scores = [{"bm25": bm25.get(cid, 0.0), "rrf": fused[cid], **({"unit": best_units[cid]} if cid in best_units else {}),
                   **({"definition": 1.0} if cid == defining else {})} for cid in order]
        if qvec is not None and order:
            for s, cos in zip(scores, (self.store.vectors(order) @ qvec).tolist()):
                s["dense"] = float(cos)
        key = {"hybrid": "rrf", "dense": "dense", "bm25": "bm25"}[self.mode]
        hits = [Hit(records[cid], s[key], scores=s) for cid, s in zip(order, scores)]
        hits = self._merge_near_duplicates(hits, limit=k if self.reranker is None else n)
        if self.reranker is not None:
            hits = self.reranker.rerank(q, hits)
        if self.mode == "hybrid" and self.cfg.header_first and hits and asks_doc_number(q):
            hits = self._header_first(hits, qvec)
        elif self.mode == "hybrid" and self.cfg.validity_first and hits and asks_validity(q):
            hits = self._validity_first(hits, q, qvec, filters)
        hits = [Hit(h.chunk, h.score, rank=i + 1, scores=h.scores) for i, h in enumerate(hits[:k])]
        return Retrieval(hits, q, notes)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        result = self.retrieve(query, k, filters)
        self.last_notes = result.notes
        return result.hits

    def _header_first(self, hits: list[Hit], qvec: np.ndarray | None) -> list[Hit]:
        """A 文号 question about the top clause's document ranks that notice's header first.

        The 文号 stands in the notice's header, which shares few words with a question such as
        “那个实施方案的文号多少”; an attached plan's 文号 stands in the notice that issued it
        (``parent_id``).  A top clause that itself states a 文号 (one document citing another)
        is left first.
        """
        top = hits[0].chunk
        if not top.doc_number or has_doc_number(top.text):
            return hits
        number = compact(top.doc_number)
        for doc_id in filter(None, (top.parent_id, top.doc_id)):
            header = next((c for c in self.store.document_chunks(doc_id)[:3] if number in compact(c.text)), None)
            if header is not None:
                return self._lift(hits, header, qvec, "header")
        return hits

    def _validity_first(self, hits: list[Hit], q: str, qvec: np.ndarray | None, filters: Filters | None) -> list[Hit]:
        """“什么时候开始施行/有效期多长” about the top clause's notice ranks the clause saying so first (its closing
        “本意见自…起施行”, which shares few words with the question but the asking ones).  A top clause that is itself
        some notice's validity clause may match the asking words only: the notice is then the one the rest of the
        question finds (“杭州的算力券…这个政策从哪天开始算？”: the 算力券 措施, not the first notice saying 施行)."""
        top = hits[0].chunk
        if validity_unit([top]):
            rest = without_field_asks(q)
            found_by_rest = self.retrieve(rest, k=1, filters=filters).hits if rest.strip() and rest != q else []
            top = found_by_rest[0].chunk if found_by_rest else top
        found = validity_unit(self.store.document_chunks(top.doc_id))
        return self._lift(hits, found[0], qvec, "validity") if found else hits

    def _lift(self, hits: list[Hit], chunk: Chunk, qvec: np.ndarray | None, why: str) -> list[Hit]:
        """``chunk`` first, with the top hit's score and a ``why`` mark; its own scores if it was a hit."""
        found = next((h for h in hits if h.chunk.chunk_id == chunk.chunk_id), None)
        scores = found.scores if found else {"bm25": 0.0, "rrf": 0.0, **(
            {"dense": float(self.store.vectors([chunk.chunk_id])[0] @ qvec)} if qvec is not None else {})}
        lifted = Hit(chunk, hits[0].score, scores={**scores, why: 1.0})
        return [lifted, *(h for h in hits if h.chunk.chunk_id != chunk.chunk_id)]

    def _merge_near_duplicates(self, hits: list[Hit], limit: int) -> list[Hit]:
        """Keep the best of hits whose texts overlap above ``cfg.near_duplicate`` (3-gram Jaccard)."""
        kept: list[tuple[Hit, frozenset[str], int]] = []
        for hit in hits:
            sh = _shingles(hit.chunk.text)
            twin = next((i for i, (_, other, _) in enumerate(kept) if _jaccard(sh, other) >= self.cfg.near_duplicate), None)
            if twin is None:
                if len(kept) >= limit:
                    break
                kept.append((hit, sh, 0))
            else:
                h, s, merged = kept[twin]
                kept[twin] = (h, s, merged + 1)
        return [h if not merged else Hit(h.chunk, h.score, scores={**h.scores, "duplicates": float(merged)})
                for h, _, merged in kept]


class PolicyRetriever(BaseRetriever):
    """LangChain ``BaseRetriever`` over a :class:`HybridRetriever`; metadata is the chunk record."""

    retriever: Any
    k: int = 5
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        out = []
        for hit in self.retriever.search(query, self.k, self.filters):
            meta = {k: v for k, v in hit.chunk.to_dict().items() if k != "text"}
            meta.update(score=hit.score, rank=hit.rank, scores=hit.scores, path=hit.chunk.path)
            out.append(LCDocument(page_content=hit.chunk.text, metadata=meta))
        return out
