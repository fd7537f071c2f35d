"""The gold evaluation Q&A set (eval/qa.jsonl): its schema, loader and validator.

Why a validator: gold evidence is copied by hand from messy PDF/web extractions, and an
evidence string that no longer occurs in the corpus (or a key fact the evidence does not
support) silently corrupts every retrieval/answer metric computed from the set.

Rules (one JSON object per line, blank lines ignored):
- every evidence string is a verbatim substring of one line of ``source_file`` or of a file
  named in ``extra_source_files`` (a question across two notices), 8-80 chars, and it also
  survives cleaning: it occurs in the cleaned text of that file (compared in
  :func:`rag.evaluation.metrics.match_form`), so no evidence straddles removed page
  furniture, a table of contents or a duplicate copy, which no chunk can contain;
- every key fact occurs in the concatenated evidence after :func:`rag.textnorm.compact`
  (NFKC, spaces removed) on both sides, so "2亿元" matches the corpus's "2 亿元";
- ``unanswerable`` items carry no evidence and no key facts, and may say which refusal is
  right in ``outcome``: ``not_stated`` (a notice covers the topic but does not state what is
  asked; ``source_file`` names it) or ``not_found`` (nothing in the corpus is about it);
- ``history`` (optional) holds the earlier turns of a follow-up question, oldest first, as
  ``{"question": ..., "answer": ...}`` objects;
- ``split`` (optional) is ``dev`` or ``test``: what may be tuned on, and what is only reported.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.evaluation.metrics import match_form
from rag.ingest.clean import clean
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

UNANSWERABLE = "unanswerable"
OUTCOMES: tuple[str, ...] = ("not_stated", "not_found")
SPLITS: tuple[str, ...] = ("dev", "test")
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
    history: tuple[tuple[str, str], ...] = ()  # (question, answer) turns before this one
    outcome: str = ""  # for unanswerable items: not_stated | not_found ("" = either)
    extra_source_files: tuple[str, ...] = ()
    split: str = ""

    @property
    def files(self) -> tuple[str, ...]:
        """Every corpus file the evidence may come from."""
        return (self.source_file, *self.extra_source_files)

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
            history=tuple((t["question"], t["answer"]) for t in d.get("history", ())),
            outcome=d.get("outcome", ""),
            extra_source_files=tuple(d.get("extra_source_files", ())),
            split=d.get("split", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to qa.jsonl (lists, field order as in the spec; optional fields when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "key_facts": list(self.key_facts),
            "evidence": list(self.evidence),
            "source_file": self.source_file,
            "doc_title": self.doc_title,
            "type": self.type,
        }
        if self.extra_source_files:
            out["extra_source_files"] = list(self.extra_source_files)
        if self.history:
            out["history"] = [{"question": q, "answer": a} for q, a in self.history]
        if self.outcome:
            out["outcome"] = self.outcome
        if self.split:
            out["split"] = self.split
        return out


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
    out.extend(_optional_problems(obj, item_id, line, path))
    unknown = sorted(set(obj) - set(_STR_FIELDS) - set(_LIST_FIELDS) - set(_OPTIONAL_FIELDS))
    if unknown:
        out.append(QAProblem(line, item_id, "<line>", f"unknown field(s) {unknown}", path))
    return out


DEV_SHARE = 60  # per cent of items in the dev split


def split_of(item_id: str) -> str:
    """The fixed split of an item, from a hash of its id: ``dev`` (tuned on) or ``test`` (only reported)."""
    return "dev" if int(hashlib.sha256(item_id.encode("utf-8")).hexdigest(), 16) % 100 < DEV_SHARE else "test"


_OPTIONAL_FIELDS: tuple[str, ...] = ("history", "outcome", "extra_source_files", "split")


def _optional_problems(obj: dict[str, Any], item_id: str, line: int, path: str) -> list[QAProblem]:
    """Types and values of the optional fields."""
    out: list[QAProblem] = []
    history = obj.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and isinstance(t.get("question"), str) and isinstance(t.get("answer"), str)
        for t in history
    ):
        out.append(QAProblem(line, item_id, "history", 'expected a list of {"question": str, "answer": str}', path))
    if obj.get("outcome", "") not in ("", *OUTCOMES):
        out.append(QAProblem(line, item_id, "outcome", f"expected one of {', '.join(OUTCOMES)}", path))
    if obj.get("split", "") not in ("", *SPLITS):
        out.append(QAProblem(line, item_id, "split", f"expected one of {', '.join(SPLITS)}", path))
    extra = obj.get("extra_source_files", [])
    if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
        out.append(QAProblem(line, item_id, "extra_source_files", "expected a list of strings", path))
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
    elif it.outcome:
        out.append(QAProblem(line, it.id, "outcome", "only unanswerable items have an outcome", path))
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


@dataclass(frozen=True)
class _CorpusFile:
    """A corpus file as the validator needs it: its raw lines and its cleaned text in match form."""

    lines: tuple[str, ...]
    cleaned: str

    @classmethod
    def read(cls, path: Path) -> _CorpusFile:
        raw = path.read_text(encoding="utf-8")
        return cls(tuple(raw.splitlines()), match_form(clean(raw).text))


def _corpus_problems(p: _Parsed, corpus: dict[str, _CorpusFile], path: str) -> list[QAProblem]:
    """Evidence must occur verbatim in its own file(s) and survive cleaning; key facts must be in the evidence."""
    it, line = p.item, p.line
    out: list[QAProblem] = []
    for name in it.files if (it.evidence or it.source_file) else ():
        if name not in corpus:
            out.append(QAProblem(line, it.id, "source_file", f"{name!r} is not a file in the corpus", path))
    files = [corpus[name] for name in it.files if name in corpus]
    named = " or ".join(it.files)
    for ev in it.evidence if files else ():
        if not any(ev in raw for f in files for raw in f.lines):
            elsewhere = [n for n, f in corpus.items() if n not in it.files and any(ev in raw for raw in f.lines)]
            hint = f" (it is in {', '.join(elsewhere)}: fix source_file)" if elsewhere else ""
            out.append(QAProblem(line, it.id, "evidence", f"not found verbatim in one line of {named}: {ev!r}{hint}",
                                 path))
        elif not any(match_form(ev) in f.cleaned for f in files):
            out.append(QAProblem(line, it.id, "evidence", f"only found across text that cleaning removes (page "
                                 f"furniture, a table of contents or a duplicate copy) in {named}: {ev!r}", path))
    joined = compact("".join(it.evidence))
    for kf in it.key_facts:
        if kf.strip() and compact(kf) not in joined:
            out.append(QAProblem(line, it.id, "key_facts", f"key fact {kf!r} does not occur in the evidence", path))
    return out


def _read_corpus(corpus_dir: Path) -> dict[str, _CorpusFile]:
    """File name -> lines and cleaned text for every *.txt in the corpus directory."""
    return {f.name: _CorpusFile.read(f) for f in sorted(Path(corpus_dir).glob("*.txt"))}


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
