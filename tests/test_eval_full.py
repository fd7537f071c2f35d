"""The offline (extractive) eval on the full Q&A set, through the CLI, against eval/baseline.json.

Slow (needs the session corpus index; vectors come from the shared cache) but runs by default:
this is the regression gate of the whole pipeline.
"""

import json
from pathlib import Path

import pytest

from rag.cli import build_parser
from rag.evaluation.qaset import load_qa

REPO = Path(__file__).resolve().parents[1]
QA = REPO / "eval" / "qa.jsonl"
BASELINE = REPO / "eval" / "baseline.json"


def _eval(cfg, *argv: str) -> int:
    args = build_parser(only="eval").parse_args(["eval", "--qa", str(QA), "--backend", "extractive", *argv])
    return args.func(args, cfg)


@pytest.mark.slow
def test_full_extractive_eval_passes_the_gate(corpus_cfg, corpus_index, tmp_path, capsys):
    out, page = tmp_path / "report.json", tmp_path / "report.html"
    rc = _eval(corpus_cfg, "--check", "--baseline", str(BASELINE), "--out", str(out), "--html", str(page))
    printed = capsys.readouterr().out
    assert rc == 0, printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [it["id"] for it in report["items"]] == [q.id for q in load_qa(QA)]
    assert set(report["metrics"]) == {"pipeline", "bm25", "dense", "langchain"}
    assert report["gate"]["passed"] and "regression gate: PASSED" in printed
    assert "| metric | pipeline | bm25 | dense | langchain |" in printed
    assert "data:image/png;base64," in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_gate_fails_naming_hit_at_5_when_retrieval_is_cut_to_one(corpus_cfg, corpus_index, capsys):
    rc = _eval(corpus_cfg, "-k", "1", "--systems", "pipeline", "--retrieval-only", "--check",
               "--baseline", str(BASELINE))
    printed = capsys.readouterr().out
    assert rc == 1, printed
    named = printed.split("metrics degraded: ", 1)[1].splitlines()[0].split(", ")
    assert "hit@5" in named


def test_retrieval_only_pipeline_ranks_a_follow_up_by_the_question_it_stands_for(
    corpus_cfg, corpus_store, corpus_embedder
):
    """``--retrieval-only`` scores the product's ranking, so a follow-up (“那企业所得税呢？”) is searched as the
    question it stands for, as ``ask`` does; the baselines, without a chat memory, search it as typed."""
    from rag.evaluation.assemble import pipeline_on
    from rag.evaluation.baselines import retriever_baselines
    from rag.service import Service

    service = Service(corpus_cfg, corpus_store, corpus_embedder)
    history = [("个转企的小微企业办不动产登记，登记费要交吗？", "免收不动产登记费。")]
    question = "那企业所得税呢？"
    standalone = service.standalone(question, history)
    assert standalone != question and "个转企" in standalone
    ranked = [r.chunk_id for r in pipeline_on(service, 5, retrieval_only=True).run(question, history).retrieved]
    assert ranked == [h.chunk.chunk_id for h in service.search(standalone, k=5).hits]
    assert ranked != [h.chunk.chunk_id for h in service.search(question, k=5).hits]
    bm25 = retriever_baselines(service, 5, ("bm25",))[0]
    assert [r.chunk_id for r in bm25.run(question, history).retrieved] == [
        h.chunk.chunk_id for h in service.search(question, k=5, mode="bm25").hits]
