"""The small frozen records passed between pipeline stages.

Data flows one way: files -> Document -> Chunk -> (index) -> Hit -> Citation/Answer.
Downstream stages never re-parse text: a chunk carries its document's title, 文号,
heading path and offsets; a citation carries its chunk.  Every record round-trips
through plain JSON (``to_dict`` / ``from_dict``) so indexes and reports need no pickle.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any, TypeVar

PATH_SEP = " › "

T = TypeVar("T")


def stable_id(*parts: str, length: int = 16) -> str:
    """A short content hash: the same inputs give the same id on every machine."""
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return h[:length]


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            continue
        if isinstance(value, list) and "tuple" in str(names[key].type):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


@dataclass(frozen=True)
class Document:
    """One notice (or an attached 方案/意见/附件, linked by ``parent_id``) inside a source file.

    Dates are ISO ``YYYY-MM-DD`` strings.  ``valid_from``/``valid_until`` come from
    起施行 / 有效期至 wording, ``deadline`` from 截止, ``notice_period`` from 公示时间.
    ``char_start``/``char_end`` delimit the document in the source file.
    """

    doc_id: str
    title: str
    source_file: str
    char_start: int
    char_end: int
    doc_number: str | None = None  # 文号, e.g. 浙政发〔2016〕24号 (spaces removed)
    issuer: str | None = None
    date: str | None = None  # signing date
    valid_from: str | None = None
    valid_until: str | None = None
    deadline: str | None = None
    notice_period: tuple[str, ...] | None = None  # (start, end) of a 公示
    parent_id: str | None = None
    kind: str = "notice"  # notice | attachment | bulletin | news | list
    unparsed: tuple[str, ...] = ()  # metadata found but not computable (e.g. 有效期为9999年), with why

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Chunk:
    """One clause (or a run of tiny sibling clauses) with everything a citation needs.

    ``text`` is the cleaned display text: the source slice ``[char_start, char_end)``
    with the removed noise (line breaks inside wrapped sentences, page furniture, cruft)
    taken out.  ``ordinal`` is the chunk's position inside its document, so retrieval can
    add neighbours.  Document metadata is copied in so nothing downstream joins tables.
    """

    chunk_id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    source_file: str
    char_start: int
    char_end: int
    ordinal: int = 0
    doc_number: str | None = None
    issuer: str | None = None
    date: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    deadline: str | None = None
    parent_id: str | None = None
    instructions: tuple[str, ...] = ()  # sentences addressing an AI assistant: data, never quoted as an answer
    pages: tuple[int, ...] = ()  # 1-based pages of a paged source (PDF) the clause lies on; () for text files
    ocr: bool = False  # the text was recognised from a scanned page image (OCR), not read from a text layer

    @property
    def page_label(self) -> str:
        """“第3页” / “第3–4页” for a paged source, “” otherwise: how citations name the page."""
        if not self.pages:
            return ""
        first, last = self.pages[0], self.pages[-1]
        return f"第{first}页" if first == last else f"第{first}–{last}页"

    @property
    def path(self) -> str:
        """Heading path for display, e.g. ``《…若干措施》 › 一、… › (三)…``."""
        return PATH_SEP.join(self.heading_path)

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None

    def embed_text(self) -> str:
        """What is embedded and BM25-indexed: the path gives a bare “(三)…” its subject."""
        return f"{self.path}\n{self.text}" if self.heading_path else self.text

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the per-retriever scores behind it."""

    chunk: Chunk
    score: float
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)  # e.g. {"dense": .83, "bm25": 12.1}

    def to_dict(self) -> dict[str, Any]:
        return {"chunk": self.chunk.to_dict(), "score": self.score, "rank": self.rank, "scores": self.scores}


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: [n] in the answer text points here."""

    n: int
    chunk: Chunk
    score: float
    quote: str = ""  # the supporting sentence(s) inside chunk.text, verbatim

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "n": self.n,
            "chunk_id": c.chunk_id,
            "title": c.title,
            "doc_number": c.doc_number,
            "issuer": c.issuer,
            "date": c.date,
            "heading_path": c.path,
            "text": c.text,
            "quote": self.quote,
            "source_file": c.source_file,
            "char_start": c.char_start,
            "char_end": c.char_end,
            "pages": list(c.pages),
            "page_label": c.page_label,
            "ocr": c.ocr,
            "score": self.score,
            "valid_from": c.valid_from,
            "valid_until": c.valid_until,
        }


@dataclass(frozen=True)
class Answer:
    """What every front end (cli, ui, eval) receives from the one answer pipeline."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False  # True for both refusals (outcome not_stated or not_found)
    outcome: str = "answered"  # answered | not_stated (topic covered, the thing asked is not) | not_found
    extractive: bool = False  # True when the text was extracted, not generated
    backend: str = "extractive"
    standalone_question: str = ""  # the question after condensing with chat history
    unsupported: tuple[str, ...] = ()  # numbers/dates in the answer found in no cited clause
    dropped_citations: tuple[int, ...] = ()  # [n] markers that pointed at no given clause
    validity: tuple[str, ...] = ()  # e.g. “该措施有效期至2027年12月31日” / expired warnings
    notes: tuple[str, ...] = ()  # fallbacks, truncated query, LLM errors …
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    answerability: float | None = None  # the model's P(answerable), when it was assessed

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "outcome": self.outcome,
            "refused": self.refused,
            "answerability": self.answerability,
            "extractive": self.extractive,
            "backend": self.backend,
            "unsupported": list(self.unsupported),
            "dropped_citations": list(self.dropped_citations),
            "validity": list(self.validity),
            "notes": list(self.notes),
            "timings": self.timings,
        }
