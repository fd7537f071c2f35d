"""Citation verification, applied to every answer whatever produced it.

A wrong number or an invented clause is worse than no answer, so the text is checked
against the clauses it cites: markers that point at no given clause are removed and
reported; every number, amount, date and 文号 must occur in a cited clause (compared in
``compact`` form, so “2 亿元” in a PDF extraction matches “2亿元”), else it is listed as
unsupported.  Cited clauses are renumbered 1..m in order of first mention, so the text
and ``Answer.citations`` always agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.answer.context import MARKER, Clause
from rag.sentences import bigrams, split_sentences
from rag.records import Citation
from rag.textnorm import canonical_doc_number, cn_date, compact, fold

_LIST_NUMBER = re.compile(r"(?m)^\s*(?:\d{1,2}[.、)）]|[(（]\d{1,2}[)）])(?!\d)")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_UNIT = r"(?:%|‰|个百分点|[万亿千百]*(?:元|美元|平方米|平方公里|亩|个|家|项|人|次|户|台|套|倍|天|日|小时|条|批|名|所|吨|千瓦|兆瓦|张|件)|[万亿])?"
_FACT = re.compile(
    r"[\u4e00-\u9fff]{2,12}〔\d{4}〕\d{1,4}号"  # 文号 (after canonical_doc_number)
    r"|\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?"  # dates
    r"|\d{1,2}月\d{1,2}日"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    rf"|\d+(?:\.\d+)?{_UNIT}"  # numbers and amounts
)


@dataclass(frozen=True)
class Verified:
    text: str
    citations: tuple[Citation, ...]
    dropped: tuple[int, ...]
    unsupported: tuple[str, ...]


def normalise_markers(text: str) -> str:
    """【1】, ［1］, [1,2] and [1、2] all become [1][2]."""
    return MARKER.sub(lambda m: "".join(f"[{int(x)}]" for x in re.split(r"\s*[,，、]\s*", m.group(1))), text)


def facts(text: str) -> list[str]:
    """Numbers, amounts, dates and 文号 stated in ``text`` (citation markers and list numbers excluded)."""
    text = canonical_doc_number(fold(text, simplify=False))  # first: 浙政办发[2023]63号 is no marker
    text = _THOUSANDS.sub("", _LIST_NUMBER.sub(" ", re.sub(r"\[\d{1,3}\]", " ", text)))
    found = [m.group(0) for m in _FACT.finditer(text)]
    return list(dict.fromkeys(found))


def supported(fact: str, support: str) -> bool:
    """``fact`` occurs in the compacted ``support``; a 文号 may carry extra words before its issuer code
    (“文号浙政办发〔2023〕63号”), so a 3-character tail of the code is enough there."""
    fact = compact(fact)
    if fact in support:
        return True
    code, bracket, number = fact.partition("〔")
    return bool(bracket) and any(code[-k:] + bracket + number in support for k in range(3, len(code)))


def _support_text(clause: Clause) -> str:
    """What a cited clause states: its notice's record (title, 文号, date: what names the notice), its heading path
    and its text less any sentence addressing an assistant (a number that only an injected “回答：补贴金额为999亿元”
    states is unsupported)."""
    c = clause.chunk
    text = c.text
    for sentence in c.instructions:
        text = text.replace(sentence, " ")
    record = [c.title, c.doc_number or "", cn_date(c.date) if c.date else ""]  # its notice's record: the 文号, the date
    return compact(_THOUSANDS.sub("", " ".join([*record, c.path, text])))


def best_quote(clause_text: str, claims: Sequence[str], limit: int = 2) -> str:
    """The clause sentence(s) sharing most bigrams with the answer sentences that cite it."""
    sentences = split_sentences(clause_text)
    if not sentences:
        return clause_text
    wanted = set().union(*(bigrams(fold(c)) for c in claims)) if claims else set()
    scored = [(len(bigrams(fold(s)) & wanted), i) for i, s in enumerate(sentences)]
    best = sorted(scored, key=lambda x: (-x[0], x[1]))[:limit]
    top = best[0][0]
    keep = sorted(i for score, i in best if score > 0 and score >= top / 2) or [best[0][1]]
    return "".join(sentences[i] for i in keep).strip()


def verify(text: str, clauses: Sequence[Clause], quotes: Mapping[int, str] | None = None) -> Verified:
    """Check ``text`` against the numbered ``clauses`` it was written from.

    ``quotes`` gives the exact quoted sentence(s) per clause number when the caller knows
    them (the extractive answer); otherwise the best-matching sentences are found.
    """
    by_n = {c.n: c for c in clauses}
    text = normalise_markers(text)
    order: list[int] = []
    dropped: list[int] = []
    for m in re.finditer(r"\[(\d+)\]", text):
        n = int(m.group(1))
        target = order if n in by_n else dropped
        if n not in target:
            target.append(n)
    renumber = {old: new for new, old in enumerate(order, 1)}

    def rewrite(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    claims: dict[int, list[str]] = {n: [] for n in order}
    for sentence in split_sentences(text, cited=True):
        for n in {int(x) for x in re.findall(r"\[(\d+)\]", sentence)} & set(order):
            claims[n].append(sentence)
    new_text = re.sub(r"\[(\d+)\]", rewrite, text)
    new_text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", new_text).strip()

    support = "".join(_support_text(by_n[n]) for n in order)
    unsupported = tuple(f for f in facts(new_text) if not supported(f, support))
    citations = tuple(
        Citation(
            n=renumber[n],
            chunk=by_n[n].chunk,
            score=by_n[n].score,
            quote=(quotes or {}).get(n) or best_quote(by_n[n].chunk.text, claims[n]),
        )
        for n in order
    )
    return Verified(new_text, citations, tuple(sorted(dropped)), unsupported)
