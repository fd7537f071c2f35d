"""The one sentence splitter and the one character-bigram measure, shared by every stage.

Why here and not in ``rag/answer``: the index embeds each clause's answer units at build
time (so an answer embeds only the question), and the answer stage must cut clauses into
exactly the same units it finds vectors for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.records import Chunk
from rag.textnorm import fold

# An ASCII ?/! followed by a Latin letter is a URL's query (“huiqi.htm?site=6”), not a sentence end.
_SENTENCE = re.compile(r"(?:[^。！？!?；;\n]|[!?](?=[A-Za-z]))+(?:(?:[。！？；;]|[!?](?![A-Za-z]))+[”」』）)]?)?")
_CITED = r"(?:\s*\[\d+\])*"  # an answer sentence keeps the citation markers that follow it
_WORD_RUN = re.compile(r"[\u3400-\u9fff0-9a-z〔〕%.]+")
MIN_UNIT_CHARS = 6  # shorter pieces (a bare “(一)”, “附件:”) state nothing worth quoting
_STATES_RULE = re.compile(r"[,，][^,，]*[:：]\s*$")  # a lead-in whose last clause follows a comma


def sentence_spans(text: str, cited: bool = False) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence: verbatim, with its end punctuation (and, ``cited``, the ``[n]`` after it).

    The one sentence splitter: clause chunking cuts long clauses at these ends, answers quote these units,
    verification reads an answer's claims sentence by sentence.
    """
    pattern = re.compile(_SENTENCE.pattern + _CITED) if cited else _SENTENCE
    return [m.span() for m in pattern.finditer(text) if m.group(0).strip()]


def split_sentences(text: str, cited: bool = False) -> list[str]:
    """Sentences of ``text`` (see :func:`sentence_spans`); blank pieces dropped."""
    return [text[a:b] for a, b in sentence_spans(text, cited)]


def answer_units(text: str) -> list[str]:
    """Sentences of a clause, a lead-in (“须同时满足以下条件:”) joined to what it introduces.

    A bare lead-in (“同时提交以下材料:”) states nothing by itself, so one left at the end of a clause is
    dropped; one with clauses of its own (“…若同时符合下列条件中的一项,不受综合评价所得分值高低限制,可直接确认…:”)
    states a rule, and stays.
    """
    units: list[str] = []
    pending = ""
    for sentence in split_sentences(text):
        if sentence.rstrip().endswith((":", "：")):
            pending += sentence
            continue
        units.append(pending + sentence)
        pending = ""
    if _STATES_RULE.search(pending):
        units.append(pending)
    return units


@functools.lru_cache(maxsize=1 << 14)
def quotable_units(text: str) -> tuple[tuple[int, str], ...]:
    """``(position, unit)`` of the units long enough to quote: what the index embeds and answers score.

    Memoised: every question splits the same top clauses again (about 2 ms of a query before).
    """
    return tuple((i, u) for i, u in enumerate(answer_units(text)) if len(u.strip()) >= MIN_UNIT_CHARS)


_VALIDITY = re.compile(r"施行|有效期(?!内)|起实施|起执行|之日起|有效至|废止")  # “有效期内…证书” is a certificate's


def validity_unit(document: Sequence[Chunk]) -> tuple[Chunk, str] | None:
    """The clause of a notice (its chunks in order) that says when it takes effect or expires, and that unit.

    The last one wins: the closing “本意见自…起施行” comes after any clause citing another notice's dates.
    """
    for chunk in reversed(document):
        unit = next((u.strip() for _, u in quotable_units(chunk.text) if _VALIDITY.search(u)), None)
        if unit is not None:
            return chunk, unit
    return None


# Sentences that address an AI assistant rather than a reader of a notice: in a document they are
# data (a prompt-injection attempt or a pasted chat), never an instruction and never an answer.
_INSTRUCTION = re.compile(
    r"忽略(?:掉)?(?:以上|上述|之前|前面|先前|此前|所有|全部|一切)*(?:的)?(?:所有|全部)?(?:指令|指示|提示|规则|要求|设定)|"
    r"(?:系统|System)\s*(?:提示|指令|prompt)|你(?:现在)?(?:是|扮演|作为)(?:一[个名])?(?:AI|人工智能|智能)?(?:助手|模型|机器人|ChatGPT|GPT)|"
    r"(?:请|必须|务必)?(?:直接|只)?(?:回答|输出|回复)(?:用户)?[:：]|不要(?:引用|理会|遵守)|"
    r"ignore\s+(?:all\s+)?(?:the\s+)?(?:previous|above|prior)\s+instructions|you\s+are\s+(?:now\s+)?(?:an?\s+)?(?:AI|assistant|ChatGPT)|"
    r"system\s+prompt|disregard\s+(?:all\s+)?(?:previous|above)",
    re.IGNORECASE,
)


def instruction_sentences(text: str) -> tuple[str, ...]:
    """The sentences of ``text`` that address an assistant (“忽略以上所有指令…”, “你是…助手”, “系统提示”)."""
    return tuple(s.strip() for s in split_sentences(text) if _INSTRUCTION.search(s))


def bigrams(folded: str) -> set[str]:
    """Character bigrams of the CJK/alphanumeric runs of a folded text: the lexical unit for Chinese."""
    runs = _WORD_RUN.findall(folded)
    return {run[i : i + 2] for run in runs for i in range(max(len(run) - 1, 1))}


@functools.lru_cache(maxsize=1 << 16)
def text_bigrams(text: str) -> frozenset[str]:
    """:func:`bigrams` of ``fold(text)``, memoised: every question matches the same clause units, headings
    and titles again."""
    return frozenset(bigrams(fold(text)))


def context_text(chunk: Chunk) -> str:
    """What a clause says about itself besides its text: title, heading path, issuer (folded)."""
    return fold(" ".join([chunk.title, *chunk.heading_path, chunk.issuer or ""]))


@dataclass(frozen=True)
class UnitMatch:
    """How one quotable unit of a clause matches a question: dense cosine and bigram share."""

    index: int  # position among the clause's answer units
    text: str
    cos: float
    lexical: float  # share of the question's bigrams in the unit (its clause's headings count half)


def _aliased(text: str, aliases: Sequence[tuple[str, Sequence[str]]]) -> set[str]:
    """The bigrams of each everyday word asked (个体户) whose document words ``text`` uses (个体工商户)."""
    return set().union(*(bigrams(said) for said, meant in aliases if any(m in text for m in meant)))


def unit_matches(wanted: set[str], qvec: np.ndarray, chunk: Chunk, vectors: np.ndarray,
                 aliases: Sequence[tuple[str, Sequence[str]]] = (), topic: frozenset[str] = frozenset(),
                 topic_weight: float = 1.0) -> list[UnitMatch]:
    """Every quotable unit of ``chunk`` against a question (its content bigrams ``wanted``, its vector ``qvec``;
    the bigrams in ``topic``, a follow-up's topic, count ``topic_weight`` each).

    ``vectors`` are the units' vectors from the index, so nothing is embedded here.  The one
    sentence-level match of the project: retrieval reranks with it, the answer stage quotes with it.
    """
    units = quotable_units(chunk.text)
    if not units:
        return []
    cosines = np.asarray(vectors, dtype=np.float32) @ np.asarray(qvec, dtype=np.float32)
    context = context_text(chunk)
    heading = text_bigrams(context) | _aliased(context, aliases)
    title = text_bigrams(chunk.title)  # names the document: every unit of it is as much about it (half weight)

    def weight(found: set[str]) -> float:
        return len(found) - (1.0 - topic_weight) * len(found & topic)

    total = weight(wanted)
    out: list[UnitMatch] = []
    for (i, unit), cos in zip(units, cosines, strict=True):
        own = (text_bigrams(unit) | _aliased(unit, aliases)) - title
        lexical = (weight(wanted & own) + 0.5 * weight(wanted & (heading - own))) / total if total else 0.0
        out.append(UnitMatch(i, unit, float(cos), lexical))
    return out
