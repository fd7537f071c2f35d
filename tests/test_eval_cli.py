"""``policy-rag eval`` argument handling, and the LLM backend + judge against the stub endpoint."""

import json
from pathlib import Path

import pytest

from openai_stub import Reply, StubServer
from rag.cli import build_parser
from rag.config import Config

REPO = Path(__file__).resolve().parents[1]
QA = REPO / "eval" / "qa.jsonl"


def _run(cfg: Config, *argv: str) -> int:
    args = build_parser(only="eval").parse_args(["eval", *argv])
    return args.func(args, cfg)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--qa", "missing.jsonl"], "cannot use missing.jsonl"),
        (["--qa", str(QA), "--backend", "llm"], "--backend llm needs an LLM"),
        (["--qa", str(QA), "--judge"], "--judge needs an LLM"),
        (["--qa", str(QA), "--systems", "pipeline,bogus"], "unknown system(s) ['bogus']"),
        (["--qa", str(QA), "-k", "0"], "-k must be at least 1"),
    ],
)
def test_unusable_input_exits_2_with_a_reason(tmp_path, capsys, argv, message):
    cfg = Config().replace("index", root=str(tmp_path), name="none")
    assert _run(cfg, *argv) == 2
    assert message in capsys.readouterr().err


def test_qa_sets_run_together_must_not_share_ids(tmp_path, capsys):
    cfg = Config().replace("index", root=str(tmp_path), name="none")
    assert _run(cfg, "--qa", str(QA), str(QA)) == 2
    assert "share item id(s)" in capsys.readouterr().err


def test_missing_index_names_the_build_command(tmp_path, capsys):
    cfg = Config().replace("index", root=str(tmp_path), name="none")
    assert _run(cfg, "--qa", str(QA), "--limit", "1") == 2
    assert "policy-rag index build" in capsys.readouterr().err


def test_invalid_qa_file_lists_its_problems(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "?"}\n', encoding="utf-8")
    assert _run(Config(), "--qa", str(bad)) == 2
    assert "required field is missing" in capsys.readouterr().err


@pytest.mark.slow
def test_llm_backend_with_judge(corpus_cfg, corpus_index, tmp_path):
    answer = Reply("根据相关条款，有明确规定[1]。")
    with StubServer() as stub:
        stub.script(answer, answer, Reply('{"supported": [true]}'))  # warm-up, the question, the judge
        cfg = corpus_cfg.replace("llm", base_url=stub.base_url, model="stub-model", api_key="sk-test", timeout=10.0)
        out = tmp_path / "llm.json"
        rc = _run(cfg, "--qa", str(QA), "--limit", "1", "--systems", "pipeline", "--judge", "--out", str(out))
        judged = [r for r in stub.requests if "事实核查员" in r["messages"][0]["content"]]
    assert rc == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["meta"]["backend"] == f"openai:stub-model@{stub.base_url.split('/')[2]}"
    item = report["items"][0]
    assert len(judged) == 1 and item["faithfulness"] == 1.0
    assert report["metrics"]["pipeline"]["overall"]["faithfulness"] == 1.0
