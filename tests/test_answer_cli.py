"""``policy-rag ask`` / ``chat`` output and argument handling, on a hand-made answerer."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date
from types import SimpleNamespace

import pytest

from rag.answer import Answerer
from rag.cli import ask as cli
from rag.config import Config
from rag.service import Service
from tests.test_answer_llm import ANSWERS, CHUNKS, BigramEmbedder, ListRetriever


class FakeService:
    def __init__(self) -> None:
        self.retriever = ListRetriever(CHUNKS)
        self.answerer = Answerer(self.retriever, BigramEmbedder(), Config(), today=lambda: date(2025, 1, 1), model=ANSWERS)
        self.backend = self.answerer.backend
        self.ask = self.answerer.ask
        self.stream = self.answerer.stream
        self.store = SimpleNamespace(documents=lambda: [])

    filters = Service.filters  # the real mapping of CLI options to filters


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> FakeService:
    fake = FakeService()
    monkeypatch.setattr(cli, "_open", lambda args, cfg: fake)
    return fake


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_ask_prints_answer_then_numbered_citations(service: FakeService) -> None:
    out = io.StringIO()
    args = parse("ask", "个体工商户转型为企业有什么奖励？", "--as-of", "2028-01-01", "--issuer", "省政府", "-k", "3")
    assert args.as_of == date(2028, 1, 1) and args.k == 3
    assert cli.run_ask(args, Config(), out=out) == 0
    text = out.getvalue()
    assert "（以下为从文件中摘录的原文）" in text and "引用：\n[1] 《" + CHUNKS[0].title + "》（浙政办发〔2023〕63号）" in text
    assert "条款：(三)加大财政支持" in text and "出处：000.txt:100-140" in text and "原文：“" in text
    assert "已失效" in text  # --as-of 2028 is after valid_until 2027-12-31


def test_ask_json_is_the_answer_record(service: FakeService) -> None:
    out = io.StringIO()
    cli.run_ask(parse("ask", "个体工商户转型为企业有什么奖励？", "--json"), Config(), out=out)
    record = json.loads(out.getvalue())
    assert record["extractive"] is True and record["citations"][0]["chunk_id"] == "a1"
    assert record["citations"][0]["quote"] in record["text"]


def test_chat_keeps_history_and_exits(service: FakeService) -> None:
    out = io.StringIO()
    stdin = io.StringIO("个体工商户转型为企业的支持政策有哪些？\n\n那奖励多少呢？\nexit\n不会被读到\n")
    assert cli.run_chat(parse("chat"), Config(), stdin=stdin, out=out) == 0
    assert service.retriever.queries == ["个体工商户转型为企业的支持政策有哪些？", "关于个体工商户转型为企业，奖励多少？"]
    text = out.getvalue()
    assert text.count("引用：") == 2 and "（理解为：关于个体工商户转型为企业，奖励多少？）" in text
    assert "核对后的回答" not in text  # extractive text is verified before it is streamed


def test_bad_date_is_an_argument_error() -> None:
    with pytest.raises(SystemExit):
        parse("ask", "问题", "--as-of", "2025/01/01")


def test_serve_refuses_beyond_loopback_without_a_login(tmp_path, capsys) -> None:
    from rag.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--port", "9"]) == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0 without a login" in err and "--auth USER:PASSWORD" in err
    assert main(["serve", "--host", "0.0.0.0", "--auth", "nopassword"]) == 2
    assert "--auth: expected USER:PASSWORD" in capsys.readouterr().err


def test_serve_login_rules() -> None:
    from rag.cli.serve import bind_problem, credentials

    assert bind_problem("127.0.0.1", [], False) is None and bind_problem("::1", [], False) is None
    assert bind_problem("localhost", [], False) is None
    assert bind_problem("192.0.2.1", [("u", "p")], False) is None and bind_problem("192.0.2.1", [], True) is None
    assert "refusing" in bind_problem("192.0.2.1", [], False)
    args = argparse.Namespace(auth="ann:secret", auth_file=None)
    assert credentials(args, {"POLICY_RAG_AUTH": "bob:pw:with:colons"}) == [("ann", "secret"), ("bob", "pw:with:colons")]
