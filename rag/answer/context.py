"""Context packing: which clauses go into the prompt, numbered, within a token budget.

The numbers given here are the ones the answer cites as [n]; verification later maps
them back to chunks, so the packing order is also the citation order of the prompt.
Hits come first, most relevant first; neighbours of the hits (same document, adjacent
clauses) fill what budget is left, because a hit is often a heading whose details sit in
the next clause.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rag.records import PATH_SEP, Chunk, Hit
from rag.tokens import count_tokens

Neighbours = Callable[[Chunk, int], Sequence[Chunk]]


@dataclass(frozen=True)
class Clause:
    """One numbered clause of the context; ``via`` is the number of the hit a neighbour belongs to."""

    n: int
    chunk: Chunk
    score: float
    via: int | None = None
    scores: Mapping[str, float] = field(default_factory=dict)  # the hit's per-retriever scores (dense, bm25)

    @property
    def is_hit(self) -> bool:
        return self.via is None


def clause_path(chunk: Chunk) -> str:
    """The heading path below the document: the leading 《title》 element repeats the title line."""
    path = list(chunk.heading_path)
    if path and path[0].strip("《》") == chunk.title.strip("《》"):
        path = path[1:]
    return PATH_SEP.join(path)


def format_clause(n: int, chunk: Chunk) -> str:
    """The clause as the model sees it: number, title, 文号, heading path, then the text, inside
    ``<clause id="n">…</clause>``.  Document text is escaped (it cannot close its delimiter) and its
    own “[1]” markers are neutralised (they cannot pass for citations): documents are data."""
    head = f"《{chunk.title.strip('《》')}》"
    if chunk.doc_number:
        head += f"（{chunk.doc_number}）"
    lines = [head]
    if clause_path(chunk):
        lines.append(f"条款位置：{clause_path(chunk)}")
    lines.append(chunk.text)
    body = html.escape(neutralise_markers("\n".join(lines)), quote=False)
    return f'<clause id="{n}">\n[{n}] {body}\n</clause>'


MARKER = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]］】]")  # [1], 【1】, ［1,2］


def neutralise_markers(text: str) -> str:
    """Document text's own “[3]”, “【3】” become “〔3〕”: read as citation markers they would cite a clause."""
    return MARKER.sub(lambda m: f"〔{m.group(1)}〕", text)


def pack(
    hits: Sequence[Hit],
    budget_tokens: int,
    neighbours: Neighbours | None = None,
    n_neighbours: int = 0,
    encoding: str = "cl100k_base",
) -> list[Clause]:
    """Number hits then neighbours while their formatted text fits ``budget_tokens``.

    A clause that does not fit is skipped (a later, shorter one may still fit); a chunk is
    never included twice.
    """
    packed: list[Clause] = []
    seen: set[str] = set()
    used = 0

    def add(chunk: Chunk, score: float, via: int | None, scores: Mapping[str, float] | None = None) -> None:
        nonlocal used
        if chunk.chunk_id in seen:
            return
        cost = count_tokens(format_clause(len(packed) + 1, chunk), encoding) + 2
        if used + cost > budget_tokens:
            return
        seen.add(chunk.chunk_id)
        used += cost
        packed.append(Clause(len(packed) + 1, chunk, score, via, scores or {}))

    for hit in hits:
        add(hit.chunk, hit.score, None, hit.scores)
    if neighbours is not None and n_neighbours > 0:
        for clause in [c for c in packed if c.is_hit]:
            for chunk in neighbours(clause.chunk, n_neighbours):
                add(chunk, clause.score, clause.n)
    return packed


def render(clauses: Sequence[Clause]) -> str:
    """The numbered clauses as one prompt block."""
    return "\n\n".join(format_clause(c.n, c.chunk) for c in clauses)
