"""Metric functions on hand-made cases whose answers are known by construction."""

import pytest

from rag.evaluation import metrics as m


def test_match_form_folds_spaces_width_and_escapes():
    assert m.match_form("收入 10770.9 亿元") == m.match_form("收入10770.9亿元")
    assert m.contains_any('开展"在湖州看见美丽中国"实干', ['开展\\"在湖州看见'])
    assert m.contains_any("浙经信软件〔2023〕289 号", ["浙经信软件[2023]289号"])
    assert not m.contains_any("无关文本", ["收入"])


def test_first_hit_rank_hit_at_k_and_mrr():
    texts = ["无关", "也无关", "全省实现软件和信息服务收入 10770.9 亿元", "收入10770.9亿元"]
    rank = m.first_hit_rank(texts, ["软件和信息服务收入10770.9亿元", "不存在的证据"])
    assert rank == 3
    assert [m.hit_at(rank, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert m.reciprocal_rank(rank) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(11, k=10) == 0.0
    assert m.first_hit_rank(texts, ["缺失"]) is None
    assert m.hit_at(None, 10) == 0.0 and m.reciprocal_rank(None) == 0.0


def test_evidence_coverage_needs_every_string_within_k():
    texts = ["甲条款 证据A", "乙条款", "丙条款 证据B"]
    assert m.evidence_coverage(texts, ["证据A", "证据B"], k=3) == 1.0
    assert m.evidence_coverage(texts, ["证据A", "证据B"], k=2) == 0.5


def test_char_f1_ignores_punctuation_and_citation_marks():
    assert m.char_f1("文号为浙经信软件〔2023〕289号。[1]", "文号为浙经信软件〔2023〕289号") == 1.0
    assert m.char_f1("甲乙", "丙丁") == 0.0
    # pred 甲乙丙丁 vs gold 甲乙: precision 2/4, recall 2/2 -> F1 2/3
    assert m.char_f1("甲乙丙丁", "甲乙") == pytest.approx(2 / 3)
    assert m.char_f1("", "甲") == 0.0


def test_key_fact_recall_counts_folded_facts():
    answer = "全省软件和信息服务收入 10770.9 亿元[1]，同比增长17.5％。"
    assert m.key_fact_recall(answer, ["10770.9亿元", "17.5%"]) == 1.0
    assert m.key_fact_recall(answer, ["10770.9亿元", "全国第五"]) == 0.5
    assert m.key_fact_recall(answer, []) == 0.0


def test_citation_precision():
    cited = ["……增速高于全国平均 7 个百分点……", "无关条款", "产业规模位居全国第五"]
    assert m.citation_precision(cited, ["产业规模位居全国第五", "增速高于全国平均7个百分点"]) == pytest.approx(2 / 3)
    assert m.citation_precision([], ["x"]) is None


def test_refusal_scores():
    refused = [True, True, False, False, True]
    unanswerable = [True, False, True, False, False]
    s = m.refusal_scores(refused, unanswerable)
    assert s["refusal_precision"] == pytest.approx(1 / 3)
    assert s["refusal_recall"] == pytest.approx(1 / 2)
    assert s["false_refusal_rate"] == pytest.approx(2 / 3)
    assert m.refusal_scores([False], [False])["refusal_precision"] is None


def test_aggregate_excludes_unanswerable_from_retrieval_and_answer_metrics():
    rows = [
        m.ItemScores("numeric", False, rank=1, full_coverage=1.0, answers=True, key_fact_recall=1.0,
                     char_f1=0.8, citation_precision=1.0, n_citations=1, latency_s=0.1),
        m.ItemScores("numeric", False, rank=4, answers=True, key_fact_recall=0.0, char_f1=0.2,
                     citation_precision=0.0, n_citations=2, n_unsupported=1, latency_s=0.3),
        m.ItemScores("numeric", False, rank=None, answers=True, refused=True, latency_s=0.2),
        m.ItemScores("unanswerable", True, rank=None, answers=True, refused=True, latency_s=0.4),
    ]
    a = m.aggregate(rows)
    assert (a["n"], a["n_answerable"], a["n_unanswerable"]) == (4, 3, 1)
    assert a["hit@1"] == pytest.approx(1 / 3) and a["hit@5"] == pytest.approx(2 / 3)
    assert a["mrr@10"] == pytest.approx((1 + 0.25) / 3)
    assert a["hit_curve"][3] == pytest.approx(2 / 3) and len(a["hit_curve"]) == 10
    assert a["key_fact_recall"] == pytest.approx(1 / 3)
    assert a["citation_precision"] == pytest.approx(0.5)  # the refusal cites nothing: undefined, skipped
    assert a["cited_share"] == 1.0 and a["unsupported_rate"] == 0.5
    assert a["refusal_precision"] == 0.5 and a["refusal_recall"] == 1.0
    assert a["false_refusal_rate"] == pytest.approx(1 / 3)
    assert a["latency_p50_s"] == pytest.approx(0.25)
    by = m.aggregate_by_type(rows, ["factoid", "numeric", "unanswerable"])
    assert list(by) == ["numeric", "unanswerable"]
    assert by["unanswerable"]["hit@1"] is None and by["unanswerable"]["refusal_recall"] == 1.0


def test_retrieval_only_rows_have_no_answer_metrics():
    a = m.aggregate([m.ItemScores("date", False, rank=2)])
    assert a["hit@3"] == 1.0 and "key_fact_recall" not in a
