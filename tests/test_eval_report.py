"""Runner, report schema, regression gate, judge parsing and the LangChain baseline on fakes (fast)."""

import json
from dataclasses import dataclass

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models import FakeListChatModel

from rag.evaluation import report as R
from rag.evaluation.baselines import LangChainBaseline, best_sentences
from rag.evaluation.qaset import QAItem
from rag.evaluation.runner import CitedClause, Judge, Retrieved, SystemRun, parse_judgement, run_eval

ITEMS = [
    QAItem("q1", "软件收入多少？", "收入10770.9亿元。", ("10770.9亿元",), ("软件和信息服务收入 10770.9 亿元",),
           "a.txt", "公报", "numeric"),
    QAItem("q2", "哪天印发？", "2023年12月28日。", ("2023年12月28日",), ("2023 年12月28日",), "a.txt", "公报", "date"),
    QAItem("q3", "火星补贴多少？", "未找到。", (), (), "a.txt", "公报", "unanswerable"),
]
CLAUSES = {
    "q1": ["无关条款", "全省实现软件和信息服务收入 10770.9 亿元,同比增长17.5%"],
    "q2": ["浙江省统计局2023 年12月28日"],
    "q3": ["无关条款"],
}


@dataclass
class FakeSystem:
    """Answers from a table; ``depth`` truncates its ranked list (a worse retriever)."""

    name: str = "pipeline"
    answers: bool = True
    depth: int = 10

    def run(self, question: str, history=()) -> SystemRun:
        qid = next(it.id for it in ITEMS if it.question == question)
        texts = CLAUSES[qid][: self.depth]
        retrieved = tuple(Retrieved(i, f"{qid}-{i}", 1.0 / i, t) for i, t in enumerate(texts, start=1))
        if not self.answers:
            return SystemRun(retrieved, 0.01)
        if qid == "q3":
            return SystemRun(retrieved, 0.02, answer="未找到相关规定。", refused=True)
        cited = (CitedClause(1, retrieved[-1].chunk_id, retrieved[-1].text),)
        return SystemRun(retrieved, 0.03, answer=f"{texts[-1]}[1]", citations=cited)


def _report(depth: int = 10) -> dict:
    systems = [FakeSystem(depth=depth), FakeSystem("bm25", answers=False, depth=depth)]
    return run_eval(ITEMS, systems, meta={"qa": "fake.jsonl", "backend": "extractive", "k": 10}).to_dict()


def test_report_json_schema():
    rep = json.loads(json.dumps(_report()))  # JSON-serialisable, no NaN
    assert set(rep) == {"meta", "metrics", "items"}
    assert rep["meta"]["primary"] == "pipeline" and rep["meta"]["n_items"] == 3
    item = rep["items"][0]
    assert item["id"] == "q1"
    for key in ("retrieved", "answer", "citations", "refused", "unsupported", "latency_s", "scores", "baselines"):
        assert key in item
    assert set(item["retrieved"][0]) >= {"chunk_id", "score", "text", "rank"}
    assert item["citations"][0]["text"].startswith("全省")
    assert item["scores"]["first_hit_rank"] == 2
    assert "answer" not in item["baselines"]["bm25"] and item["baselines"]["bm25"]["scores"]["first_hit_rank"] == 2
    m = rep["metrics"]["pipeline"]
    assert m["overall"]["hit@1"] == 0.5 and m["overall"]["hit@5"] == 1.0 and m["overall"]["mrr@10"] == 0.75
    assert m["overall"]["key_fact_recall"] == 1.0 and m["overall"]["citation_precision"] == 1.0
    assert m["overall"]["refusal_recall"] == 1.0 and m["overall"]["false_refusal_rate"] == 0.0
    assert set(m["by_type"]) == {"numeric", "date", "unanswerable"}
    assert "key_fact_recall" not in rep["metrics"]["bm25"]["overall"]


def test_gate_passes_on_the_same_run_and_names_degraded_metrics():
    baseline = R.make_baseline(_report(), command="policy-rag eval …")
    assert baseline["metrics"]["hit@5"] == {"value": 1.0, "tolerance": 0.501, "higher_is_better": True}
    assert baseline["metrics"]["false_refusal_rate"]["higher_is_better"] is False
    assert R.check(_report(), baseline).passed
    # a retriever cut to depth 1 loses q1's evidence at rank 2: hit@5 falls from 1.0 to 0.5
    for spec in baseline["metrics"].values():
        spec["tolerance"] = 0.1
    gate = R.check(_report(depth=1), baseline)
    assert not gate.passed
    names = [r.name for r in gate.regressions]
    assert "hit@5" in names and "bm25.hit@5" in names and "hit@1" not in names
    assert "hit@5: 1.000 -> 0.500 (dropped 0.500 > tolerance 0.100)" in gate.describe()


def test_gate_flags_a_word_list_edited_since_the_baseline(tmp_path):
    """The programme names and the colloquial table steer refusals like the constants do: the calibration record
    holds their digests, so a run with another list fails the gate naming it."""
    from rag.answer.answerability import AnswerabilityModel
    from rag.config import Config
    from rag.evaluation.assemble import calibration

    model, cfg = AnswerabilityModel.load(""), Config()
    mine = tmp_path / "mine.txt"
    mine.write_text("星际补贴\n", encoding="utf-8")
    edited = calibration(cfg.replace("retrieve", programmes=str(mine)), model)
    assert edited["word_lists"]["colloquial"] == calibration(cfg, model)["word_lists"]["colloquial"]
    baseline = R.make_baseline(_report()) | {"calibration": calibration(cfg, model)}
    report = _report()
    report["meta"]["calibration"] = edited
    gate = R.check(report, baseline)
    assert not gate.passed and "word_lists.programmes" in gate.describe()
    report["meta"]["calibration"] = calibration(cfg, model)
    assert R.check(report, baseline).passed


def test_gate_compares_only_retrieval_across_backends_and_skips_systems_not_run():
    baseline = R.make_baseline(_report())
    baseline["backend"] = "openai:x@host"
    baseline["metrics"]["key_fact_recall"]["value"] = 2.0  # would fail if compared
    baseline["metrics"]["dense.hit@5"] = {"value": 1.0, "tolerance": 0.0, "higher_is_better": True}
    gate = R.check(_report(), baseline)
    assert gate.passed and any("only retrieval" in n for n in gate.notes)
    assert any("dense.hit@5" in n for n in gate.notes)


def test_markdown_and_html_reports():
    rep = _report()
    md = R.markdown_summary(rep)
    assert "| metric | pipeline | bm25 |" in md and "| hit@5 | 1.000 | 1.000 |" in md and "### Per type" in md
    page = R.html_report(rep, R.check(rep, R.make_baseline(rep)))
    assert page.count("data:image/png;base64,") >= 2 and "regression gate: PASSED" in page and "q1" in page


def test_progress_off_a_terminal_is_plain_periodic_lines():
    import io
    import time

    from rag.progress import track

    out = io.StringIO()
    items = list(track(range(4), 4, "eval", stream=out, every=0.01, unit="question"))
    assert items == [0, 1, 2, 3] and out.getvalue() == ""  # a fast step stays quiet

    def slow():
        for i in range(3):
            time.sleep(0.02)
            yield i

    assert list(track(slow(), 3, "eval", stream=out, every=0.01, unit="question")) == [0, 1, 2]
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("eval: ") for line in lines) and lines[-1].startswith("eval: 3/3 question in")


def test_heartbeat_speaks_while_a_step_without_a_count_runs_and_stops_after():
    import io
    import time

    from rag.progress import heartbeat

    out = io.StringIO()
    with heartbeat("serve: loading gradio", stream=out, every=0.02):
        time.sleep(0.09)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("serve: loading gradio: still working (") for line in lines)
    time.sleep(0.05)
    assert out.getvalue().splitlines() == lines  # silent once the step is over
    with heartbeat("quick", stream=out, every=1.0):
        pass
    assert "quick" not in out.getvalue()


def test_judge_parses_verdicts():
    assert parse_judgement('好的：{"supported": [true, false, true, true]}', 4) == 0.75
    assert parse_judgement("无法判断", 2) is None
    judge = Judge(FakeListChatModel(responses=['{"supported": [true, false]}']))
    clause = (CitedClause(1, "c1", "收入10770.9亿元"),)
    assert judge.score("收入10770.9亿元[1]。增长100%。", clause) == 0.5
    assert Judge(FakeListChatModel(responses=[])).score("收入10770.9亿元[1]。", clause) is None  # call fails


def test_best_sentences_and_langchain_baseline():
    text = "第一句讲别的。\n软件和信息服务收入 10770.9\n亿元。第三句也无关。"
    assert best_sentences("软件和信息服务收入多少", text, n=1) == "软件和信息服务收入 10770.9亿元。"
    files = [("a.txt", "甲" * 600 + "。软件和信息服务收入 10770.9 亿元。"), ("b.txt", "乙" * 100)]
    lc = LangChainBaseline.build(files, DeterministicFakeEmbedding(size=16), k=3)
    assert lc.n_chunks >= 3
    run = lc.run("软件和信息服务收入多少")
    assert len(run.retrieved) == 3 and run.answer and run.citations[0].chunk_id == run.retrieved[0].chunk_id
    assert [r.rank for r in run.retrieved] == [1, 2, 3]


@pytest.mark.parametrize("bad", ['{"supported": "yes"}', '{"other": []}', "{broken"])
def test_judge_bad_replies_are_undefined(bad):
    assert parse_judgement(bad, 1) is None
