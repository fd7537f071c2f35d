"""The one sentence splitter and the one character-bigram measure, shared by every stage.

Why here and not in ``rag/answer``: the index embeds each clause's answer units at build
time (so an answer embeds only the question), and the answer stage must cut clauses into
exactly the same units it finds vectors for.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;]+[”」』）)]?)?")
_WORD_RUN = re.compile(r"[\u3400-\u9fff0-9a-z〔〕%.]+")
MIN_UNIT_CHARS = 6  # shorter pieces (a bare “(一)”, “附件:”) state nothing worth quoting


def split_sentences(text: str) -> list[str]:
    """Sentences of a clause, verbatim, each with its end punctuation; blank pieces dropped."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


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


def quotable_units(text: str) -> list[tuple[int, str]]:
    """``(position, unit)`` of the units long enough to quote: what the index embeds and answers score."""
    return [(i, u) for i, u in enumerate(answer_units(text)) if len(u.strip()) >= MIN_UNIT_CHARS]


def bigrams(folded: str) -> set[str]:
    """Character bigrams of the CJK/alphanumeric runs of a folded text: the lexical unit for Chinese."""
    runs = _WORD_RUN.findall(folded)
    return {run[i : i + 2] for run in runs for i in range(max(len(run) - 1, 1))}
