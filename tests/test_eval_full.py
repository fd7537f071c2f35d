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
