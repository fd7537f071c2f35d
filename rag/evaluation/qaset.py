"""The gold evaluation Q&A set (eval/qa.jsonl): its schema, loader and validator.

Why a validator: gold evidence is copied by hand from messy PDF/web extractions, and an
evidence string that no longer occurs in the corpus (or a key fact the evidence does not
support) silently corrupts every retrieval/answer metric computed from the set.

Rules (one JSON object per line, blank lines ignored):
- every evidence string is a verbatim substring of ``source_file`` (one line of it, 8-80
  chars).  ``comparison_or_multi`` items may need two files: ``source_file`` names the
  first and their evidence may be found in ANY corpus file;
- every key fact occurs in the concatenated evidence after :func:`rag.textnorm.compact`
  (NFKC, spaces removed) on both sides, so "2亿元" matches the corpus's "2 亿元";
- ``unanswerable`` items carry no evidence and no key facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.textnorm import compact

TYPES: tuple[str, ...] = (
    "factoid",
    "numeric",
    "date",
    "list",
    "condition",
    "procedure",
    "issuer_or_docno",
    "comparison_or_multi",
    "yes_no",
    "unanswerable",
)

MULTI_FILE_TYPE = "comparison_or_multi"
UNANSWERABLE = "unanswerable"
EVIDENCE_MIN_CHARS = 8
EVIDENCE_MAX_CHARS = 80

_STR_FIELDS: tuple[str, ...] = ("id", "question", "answer", "source_file", "doc_title", "type")
_LIST_FIELDS: tuple[str, ...] = ("key_facts", "evidence")


class QASetError(ValueError):
    """Raised by :func:`load_qa` when the file is invalid; carries every problem found."""

    def __init__(self, problems: list["QAProblem"]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in Q&A set:\n" + "\n".join(map(str, problems)))


@dataclass(frozen=True)
class QAItem:
    """One gold question with its answer, the facts an answer must state, and verbatim evidence."""

    id: str
    question: str
    answer: str
    key_facts: tuple[str, ...]
    evidence: tuple[str, ...]
    source_file: str
    doc_title: str
    type: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QAItem":
        """Build from a parsed JSON object (assumed already schema-checked)."""
        return cls(
            id=d["id"],
            question=d["question"],
            answer=d["answer"],
            key_facts=tuple(d["key_facts"]),
            evidence=tuple(d["evidence"]),
            source_file=d["source_file"],
            doc_title=d["doc_title"],
            type=d["type"],
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to qa.jsonl (lists, field order as in the spec)."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "key_facts": list(self.key_facts),
            "evidence": list(self.evidence),
            "source_file": self.source_file,
            "doc_title": self.doc_title,
            "type": self.type,
        }


@dataclass(frozen=True)
class QAProblem:
    """One thing wrong with one line: enough to find and fix it without rerunning anything."""

    line: int
    item_id: str
    field: str
    message: str
    path: str = field(default="", compare=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} [{self.item_id}] {self.field}: {self.message}"


@dataclass
class _Parsed:
    """A schema-valid line and where it came from."""

    line: int
    item: QAItem


def _schema_problems(obj: Any, line: int, path: str) -> list[QAProblem]:
    """Field presence and types; an item with any of these problems is not checked further."""
    if not isinstance(obj, dict):
        return [QAProblem(line, "?", "<line>", f"expected a JSON object, got {type(obj).__name__}", path)]
    item_id = obj.get("id") if isinstance(obj.get("id"), str) else "?"
    out: list[QAProblem] = []
    for name in _STR_FIELDS:
        if name not in obj:
            out.append(QAProblem(line, item_id, name, "required field is missing", path))
        elif not isinstance(obj[name], str):
            out.append(QAProblem(line, item_id, name, f"expected a string, got {type(obj[name]).__name__}", path))
    for name in _LIST_FIELDS:
        if name not in obj:
            out.append(QAProblem(line, item_id, name, "required field is missing", path))
        elif not isinstance(obj[name], list) or not all(isinstance(x, str) for x in obj[name]):
            out.append(QAProblem(line, item_id, name, "expected a list of strings", path))
    unknown = sorted(set(obj) - set(_STR_FIELDS) - set(_LIST_FIELDS))
    if unknown:
        out.append(QAProblem(line, item_id, "<line>", f"unknown field(s) {unknown}", path))
    return out


def _parse(path: Path) -> tuple[list[_Parsed], list[QAProblem]]:
    """Read the file line by line, collecting schema problems instead of stopping at the first."""
    parsed: list[_Parsed] = []
    problems: list[QAProblem] = []
    spath = str(path)
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(QAProblem(lineno, "?", "<json>", f"invalid JSON: {exc.msg} at column {exc.colno}", spath))
            continue
        found = _schema_problems(obj, lineno, spath)
        if found:
            problems.extend(found)
            continue
        parsed.append(_Parsed(lineno, QAItem.from_dict(obj)))
    return parsed, problems


def _item_problems(p: _Parsed, path: str) -> list[QAProblem]:
    """Checks that need no corpus: type, non-empty text, unanswerable shape, evidence shape."""
    it, line = p.item, p.line
    out: list[QAProblem] = []
    if it.type not in TYPES:
        out.append(QAProblem(line, it.id, "type", f"unknown type {it.type!r}; expected one of {', '.join(TYPES)}", path))
    for name in ("id", "question", "answer"):
        if not getattr(it, name).strip():
            out.append(QAProblem(line, it.id, name, "must not be empty", path))
    if it.type == UNANSWERABLE:
        if it.evidence:
            out.append(QAProblem(line, it.id, "evidence", "unanswerable item must have no evidence", path))
        if it.key_facts:
            out.append(QAProblem(line, it.id, "key_facts", "unanswerable item must have no key facts", path))
    elif it.type in TYPES:
        if not it.evidence:
            out.append(QAProblem(line, it.id, "evidence", "answerable item needs at least one evidence string", path))
        if not it.key_facts:
            out.append(QAProblem(line, it.id, "key_facts", "answerable item needs at least one key fact", path))
    for ev in it.evidence:
        if "\n" in ev:
            out.append(QAProblem(line, it.id, "evidence", f"evidence must stay within one line: {ev!r}", path))
        if not EVIDENCE_MIN_CHARS <= len(ev) <= EVIDENCE_MAX_CHARS:
            out.append(
                QAProblem(
                    line, it.id, "evidence",
                    f"evidence must be {EVIDENCE_MIN_CHARS}-{EVIDENCE_MAX_CHARS} chars, got {len(ev)}: {ev!r}", path,
                )
            )
    for kf in it.key_facts:
        if not kf.strip():
            out.append(QAProblem(line, it.id, "key_facts", "empty key fact", path))
    return out


def _corpus_problems(p: _Parsed, corpus: dict[str, str], path: str) -> list[QAProblem]:
    """Evidence must occur verbatim; key facts must be supported by the evidence."""
    it, line = p.item, p.line
    out: list[QAProblem] = []
    if not it.evidence:
        return out
    source = corpus.get(it.source_file)
    if source is None:
        out.append(QAProblem(line, it.id, "source_file", f"{it.source_file!r} is not a file in the corpus", path))
    for ev in it.evidence:
        if it.type == MULTI_FILE_TYPE:
            if not any(ev in text for text in corpus.values()):
                out.append(QAProblem(line, it.id, "evidence", f"not found verbatim in any corpus file: {ev!r}", path))
        elif source is not None and ev not in source:
            out.append(QAProblem(line, it.id, "evidence", f"not found verbatim in {it.source_file}: {ev!r}", path))
    joined = compact("".join(it.evidence))
    for kf in it.key_facts:
        if kf.strip() and compact(kf) not in joined:
            out.append(QAProblem(line, it.id, "key_facts", f"key fact {kf!r} does not occur in the evidence", path))
    return out


def _read_corpus(corpus_dir: Path) -> dict[str, str]:
    """File name -> text for every *.txt in the corpus directory."""
    return {f.name: f.read_text(encoding="utf-8") for f in sorted(Path(corpus_dir).glob("*.txt"))}


def _check(path: Path, corpus_dir: Path | None) -> tuple[list[QAItem], list[QAProblem]]:
    """Everything :func:`validate` checks; the corpus checks are skipped when corpus_dir is None."""
    spath = str(path)
    parsed, problems = _parse(path)
    seen: dict[str, int] = {}
    corpus = _read_corpus(corpus_dir) if corpus_dir is not None else None
    for p in parsed:
        if p.item.id in seen:
            problems.append(
                QAProblem(p.line, p.item.id, "id", f"duplicate id (first used on line {seen[p.item.id]})", spath)
            )
        else:
            seen[p.item.id] = p.line
        problems.extend(_item_problems(p, spath))
        if corpus is not None:
            problems.extend(_corpus_problems(p, corpus, spath))
    problems.sort(key=lambda q: q.line)
    return [p.item for p in parsed], problems


def validate(path: str | Path, corpus_dir: str | Path) -> list[QAProblem]:
    """All problems in the Q&A set checked against the corpus; an empty list means valid."""
    return _check(Path(path), Path(corpus_dir))[1]


def load_qa(path: str | Path, corpus_dir: str | Path | None = None) -> list[QAItem]:
    """The items of a Q&A set; raises :class:`QASetError` listing every problem if invalid.

    Without corpus_dir only the file itself is checked (schema, types, ids, shapes)."""
    items, problems = _check(Path(path), Path(corpus_dir) if corpus_dir is not None else None)
    if problems:
        raise QASetError(problems)
    return items
