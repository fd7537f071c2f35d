"""The gold Q&A set must stay valid against the corpus, and the validator must catch each kind of mistake."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rag.evaluation.qaset import TYPES, QAItem, QASetError, load_qa, split_of, validate

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT / "eval" / "qa.jsonl"
CORPUS = ROOT / "data" / "corpus"

SRC = "doc.txt"
TEXT = "第一行:全省实现软件和信息服务收入 10770.9 亿元,同比增长17.5%。\n浙政办发〔2023〕63 号各市人民政府\n"


def _item(**over) -> dict:
    base = {
        "id": "t-001",
        "question": "软件和信息服务收入是多少？",
        "answer": "10770.9亿元。",
        "key_facts": ["10770.9亿元"],
        "evidence": ["全省实现软件和信息服务收入 10770.9 亿元"],
        "source_file": SRC,
        "doc_title": "测试文件",
        "type": "numeric",
    }
    base.update(over)
    return base


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / SRC).write_text(TEXT, encoding="utf-8")
    (d / "other.txt").write_text("另一份文件:每年“算力券”总额提升至2.5亿元\n", encoding="utf-8")
    return d


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "qa.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


# --- the real set -----------------------------------------------------------------------------


def test_real_set_is_valid():
    problems = validate(QA, CORPUS)
    assert problems == [], "\n".join(map(str, problems[:30]))


def test_real_set_meets_count_and_spread():
    items = load_qa(QA, CORPUS)
    types = Counter(it.type for it in items)
    assert len(items) >= 160
    assert types["unanswerable"] >= 18
    assert types["comparison_or_multi"] >= 18
    assert set(types) == set(TYPES), f"missing types: {set(TYPES) - set(types)}"
    for t in TYPES:
        if t not in ("unanswerable", "comparison_or_multi"):
            assert types[t] >= 8, (t, types[t])
    per_file = Counter(it.source_file for it in items if it.type != "unanswerable")
    for f in sorted(CORPUS.glob("*.txt")):
        assert per_file[f.name] >= 20, (f.name, per_file[f.name])


def test_real_set_spreads_over_the_length_of_each_file():
    """Evidence must reach the first, middle and last third of every file, not just its opening."""
    items = load_qa(QA, CORPUS)
    for f in sorted(CORPUS.glob("*.txt")):
        lines = f.read_text(encoding="utf-8").split("\n")
        thirds: set[int] = set()
        for it in items:
            if it.source_file != f.name:
                continue
            for ev in it.evidence:
                for i, line in enumerate(lines):
                    if ev in line:
                        thirds.add(3 * i // len(lines))
                        break
        assert thirds == {0, 1, 2}, (f.name, thirds)


def test_real_set_unanswerables_are_clean():
    for it in load_qa(QA, CORPUS):
        if it.type == "unanswerable":
            assert not it.evidence and not it.key_facts and it.doc_title == ""


# --- the validator on hand-made files -------------------------------------------------------


def test_good_file_round_trips(tmp_path, corpus):
    unanswerable = _item(id="t-002", type="unanswerable", key_facts=[], evidence=[], source_file="", doc_title="")
    p = _write(tmp_path, [_dump(_item()), "", _dump(unanswerable)])
    assert validate(p, corpus) == []
    items = load_qa(p, corpus)
    assert [i.id for i in items] == ["t-001", "t-002"]
    assert QAItem.from_dict(items[0].to_dict()) == items[0]


def test_bad_json(tmp_path, corpus):
    p = _write(tmp_path, [_dump(_item()), '{"id": "t-002", "question": '])
    (prob,) = validate(p, corpus)
    assert prob.line == 2 and prob.field == "<json>" and "invalid JSON" in prob.message
    assert str(prob).startswith(f"{p}:2 [?] <json>: invalid JSON")


def test_missing_field(tmp_path, corpus):
    bad = _item()
    del bad["answer"]
    (prob,) = validate(_write(tmp_path, [_dump(bad)]), corpus)
    assert (prob.line, prob.item_id, prob.field) == (1, "t-001", "answer")
    assert "missing" in prob.message


def test_wrong_field_type(tmp_path, corpus):
    (prob,) = validate(_write(tmp_path, [_dump(_item(key_facts="10770.9亿元"))]), corpus)
    assert prob.field == "key_facts" and "list of strings" in prob.message


def test_unknown_type(tmp_path, corpus):
    (prob,) = validate(_write(tmp_path, [_dump(_item(type="trivia"))]), corpus)
    assert prob.field == "type" and "'trivia'" in prob.message


def test_duplicate_id(tmp_path, corpus):
    (prob,) = validate(_write(tmp_path, [_dump(_item()), _dump(_item())]), corpus)
    assert (prob.line, prob.item_id, prob.field) == (2, "t-001", "id")
    assert "first used on line 1" in prob.message


def test_empty_question(tmp_path, corpus):
    (prob,) = validate(_write(tmp_path, [_dump(_item(question="  "))]), corpus)
    assert prob.field == "question" and "empty" in prob.message


def test_evidence_not_in_source(tmp_path, corpus):
    ev = "全省实现软件和信息服务收入 10770.9亿元"  # the corpus has a space before 亿元: not verbatim
    probs = validate(_write(tmp_path, [_dump(_item(evidence=[ev]))]), corpus)
    assert [p.field for p in probs] == ["evidence"]
    assert "not found verbatim in one line of doc.txt" in probs[0].message


def test_evidence_counts_only_in_its_own_files(tmp_path, corpus):
    """A comparison across notices names the second file; evidence found only elsewhere is wrong."""
    ev = ["全省实现软件和信息服务收入 10770.9 亿元", "每年“算力券”总额提升至2.5亿元"]
    single = _item(evidence=ev, key_facts=["10770.9亿元", "2.5亿元"], type="comparison_or_multi")
    named = dict(single, id="t-002", extra_source_files=["other.txt"])
    probs = validate(_write(tmp_path, [_dump(single), _dump(named)]), corpus)
    assert [(p.line, p.field) for p in probs] == [(1, "evidence")]
    assert "it is in other.txt: fix source_file" in probs[0].message


def test_evidence_across_removed_noise_is_rejected(tmp_path, corpus):
    """Evidence that straddles text the cleaner removes (here web cruft) can be in no chunk."""
    (corpus / "cruft.txt").write_text("得分值不低于 60 分,且科技人员指标得分不得为 0 分。(详\n情请点击:(国家)科技型中小企业)\n",
                                      encoding="utf-8")
    bad = _item(source_file="cruft.txt", evidence=["得分值不低于 60 分,且科技人员指标得分不得为 0 分。(详"],
                key_facts=["60分"])
    good = dict(bad, id="t-002", evidence=["得分值不低于 60 分,且科技人员指标得分不得为 0 分。"])
    probs = validate(_write(tmp_path, [_dump(bad), _dump(good)]), corpus)
    assert [(p.line, p.field) for p in probs] == [(1, "evidence")]
    assert "cleaning removes" in probs[0].message


def test_optional_fields_round_trip_and_are_checked(tmp_path, corpus):
    follow = _item(history=[{"question": "软件收入多少？", "answer": "10770.9亿元"}], split="dev")
    miss = _item(id="t-002", type="unanswerable", key_facts=[], evidence=[], outcome="not_stated", split="test")
    bad = _item(id="t-003", outcome="maybe", split="train", history=[["q", "a"]])
    p = _write(tmp_path, [_dump(follow), _dump(miss), _dump(bad)])
    probs = validate(p, corpus)
    assert sorted(q.field for q in probs) == ["history", "outcome", "split"]
    items = load_qa(_write(tmp_path, [_dump(follow), _dump(miss)]), corpus)
    assert items[0].history == (("软件收入多少？", "10770.9亿元"),) and items[0].split == "dev"
    assert items[1].outcome == "not_stated"
    assert [QAItem.from_dict(it.to_dict()) for it in items] == items


def test_unknown_source_file(tmp_path, corpus):
    probs = validate(_write(tmp_path, [_dump(_item(source_file="nope.txt"))]), corpus)
    assert [p.field for p in probs] == ["source_file"]


def test_key_fact_not_in_evidence(tmp_path, corpus):
    probs = validate(_write(tmp_path, [_dump(_item(key_facts=["10770.9亿元", "17.5%"]))]), corpus)
    assert [p.field for p in probs] == ["key_facts"]
    assert "'17.5%'" in probs[0].message


def test_key_fact_matches_across_pdf_spaces_and_docno_forms(tmp_path, corpus):
    item = _item(evidence=["浙政办发〔2023〕63 号各市人民政府"], key_facts=["浙政办发〔2023〕63号", "浙政办发[2023]63号"])
    assert validate(_write(tmp_path, [_dump(item)]), corpus) == []


def test_unanswerable_must_be_empty(tmp_path, corpus):
    probs = validate(_write(tmp_path, [_dump(_item(type="unanswerable"))]), corpus)
    assert sorted(p.field for p in probs) == ["evidence", "key_facts"]


def test_evidence_must_stay_on_one_short_line(tmp_path, corpus):
    probs = validate(_write(tmp_path, [_dump(_item(evidence=["第一行", "亿元,同比增长17.5%。\n浙政办发"]))]), corpus)
    msgs = " | ".join(p.message for p in probs)
    assert "8-80 chars" in msgs and "one line" in msgs


def test_load_qa_raises_with_every_problem(tmp_path, corpus):
    p = _write(tmp_path, ["not json", _dump(_item(type="trivia")), _dump(_item(type="trivia"))])
    with pytest.raises(QASetError) as exc:
        load_qa(p, corpus)
    fields = [q.field for q in exc.value.problems]
    assert fields == ["<json>", "type", "id", "type"]
    assert f"{p}:1 [?] <json>" in str(exc.value)


# --- the user-phrased set (eval/qa-user.jsonl) ----------------------------------------------------

USER_QA = ROOT / "eval" / "qa-user.jsonl"


def test_user_set_is_valid_and_shaped_as_promised():
    """≥ 200 questions, ≥ 40 unanswerable near-misses with their refusal kind, ≥ 20 follow-ups, a 60/40 split."""
    assert validate(USER_QA, CORPUS) == []
    items = load_qa(USER_QA, CORPUS)
    unanswerable = [it for it in items if it.type == "unanswerable"]
    assert len(items) >= 200 and len(unanswerable) >= 40
    assert all(it.outcome in ("not_stated", "not_found") for it in unanswerable)
    assert sum(bool(it.history) for it in items) >= 20
    splits = Counter(it.split for it in items)
    assert set(splits) == {"dev", "test"} and 0.55 <= splits["dev"] / len(items) <= 0.65
    assert all(it.split == split_of(it.id) for it in items), "the split is fixed by id"


@pytest.mark.parametrize(("name", "n", "n_unanswerable", "min_follow_ups"), [
    ("qa-user-c.jsonl", 100, 20, 12),  # a third blind writer
    ("qa-user-d.jsonl", 120, 44, 24),  # a fourth, heavier on near-misses
    ("qa-user-e.jsonl", 120, 40, 24),  # a fifth, written after the fourth round's first changes
    ("qa-user-f.jsonl", 130, 60, 24),  # a sixth, half near-misses, written in the fifth round
    ("qa-user-g.jsonl", 120, 30, 24),  # a seventh, mostly answerable, written in the sixth round
    ("qa-user-h.jsonl", 120, 20, 30),  # an eighth, five in six answerable like the held-out set, seventh round
    ("qa-user-i.jsonl", 120, 20, 30),  # a ninth, the same brief, eighth round
    ("qa-user-j.jsonl", 120, 20, 29),  # a tenth, written at the eighth round's end
    ("qa-user-k.jsonl", 120, 20, 33),  # an eleventh, written at the ninth round's start, run untouched then
    ("qa-user-l.jsonl", 120, 20, 40),  # a twelfth, written at the tenth round's start, run untouched before its dev part was read
    ("qa-user-m.jsonl", 120, 22, 64),  # a thirteenth, mid tenth round, conversations; run untouched before its dev part was read
    ("qa-user-n.jsonl", 120, 30, 30),  # a fourteenth, eleventh round, a quarter near-misses; run untouched before its dev part was read
    ("qa-user-o.jsonl", 120, 25, 44),  # a fifteenth, twelfth round; run untouched before its dev part was read
    ("qa-user-p.jsonl", 120, 40, 33),  # a sixteenth, twelfth round, a third near-misses; run untouched before its dev part was read
    ("qa-user-q.jsonl", 120, 30, 42),  # a seventeenth, thirteenth round; run untouched before its dev part was read
    ("qa-user-r.jsonl", 120, 40, 42),  # an eighteenth, thirteenth round, a third near-misses of four kinds; run untouched before its dev part was read
    ("qa-user-s.jsonl", 120, 35, 65),  # a nineteenth, fourteenth round's start; one evidence string trimmed; run untouched first
    ("qa-user-t.jsonl", 120, 20, 25),  # a twentieth, mid fourteenth round, five in six answerable; run untouched before its dev part was read
    ("qa-user-u.jsonl", 120, 20, 25),  # a twenty-first, fifteenth round's start, held-out proportions; run untouched first
    ("qa-user-v.jsonl", 120, 20, 38),  # a twenty-second, sixteenth round's start, held-out proportions; run untouched first
    ("qa-user-w.jsonl", 120, 20, 27),  # a twenty-third, seventeenth round's start; evidence widened by the writer; run untouched first
])
def test_later_writers_sets_are_valid_and_split_by_id(name: str, n: int, n_unanswerable: int, min_follow_ups: int):
    """Each later blind writer's set: valid against the corpus, every refusal labelled, follow-ups, split by id."""
    path = ROOT / "eval" / name
    assert validate(path, CORPUS) == []
    items = load_qa(path, CORPUS)
    unanswerable = [it for it in items if it.type == "unanswerable"]
    assert len(items) == n and len(unanswerable) == n_unanswerable and all(it.outcome for it in unanswerable)
    assert sum(bool(it.history) for it in items) >= min_follow_ups
    assert all(it.split == split_of(it.id) for it in items), "the split is fixed by id"
