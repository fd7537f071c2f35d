"""The answer stage against a real local OpenAI-compatible server (tests/openai_stub.py).

Hand-made clauses and a bigram-hashing embedder keep these tests independent of the
index; what is checked is the ``Answer`` record each server behaviour leads to.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from datetime import date

import numpy as np
import pytest

from rag.answer import Answerer
from rag.answer.extractive import EXTRACT_LABEL
from rag.answer.llm import make_chat_model
from rag.config import Config
from rag.records import Answer, Chunk, Hit
from rag.textnorm import fold
from tests.openai_stub import Reply, StubServer

TITLE_A = "浙江省人民政府办公厅关于支持个体工商户转型升级为企业工作的实施意见"
CHUNKS = (
    Chunk("a1", "docA", TITLE_A, ("(三)加大财政支持",), "对个体工商户转型为企业的，给予2万元一次性奖励。奖励资金由县级财政承担。",
          "000.txt", 100, 140, ordinal=3, doc_number="浙政办发〔2023〕63号", valid_until="2027-12-31"),
    Chunk("b1", "docB", "关于组织开展2024年第一批杭州市工信领域项目申报的通知", ("五、申报时间",),
          "项目申报截止时间为2024年5月30日,逾期不予受理。", "002.txt", 500, 530, ordinal=9, deadline="2024-05-30"),
    Chunk("c1", "docC", "浙江省人民政府关于促进外贸回稳向好的若干意见", ("一、稳定出口",),
          "支持企业开拓新兴市场,扩大出口信用保险覆盖面。", "003.txt", 900, 930, ordinal=1, doc_number="浙政发〔2016〕25号"),
)


class BigramEmbedder:
    """Character-bigram hashing vectors: similar texts get similar (normalised) vectors."""

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            t = fold(text)
            for i in range(len(t) - 1):
                out[row, zlib.crc32(t[i : i + 2].encode()) % 512] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    embed_passages = _embed
    embed_queries = _embed


class ListRetriever:
    """Returns the same hits for any query and records the queries it was asked."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self.queries: list[str] = []

    def search(self, query: str, k: int | None = None, filters: object = None) -> list[Hit]:
        self.queries.append(query)
        return [Hit(c, 1.0 / (i + 1), rank=i + 1) for i, c in enumerate(self.chunks)]

    def neighbours(self, chunk: Chunk, n: int) -> list[Chunk]:
        return []


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


def make_answerer(stub: StubServer, timeout: float = 5.0) -> tuple[Answerer, ListRetriever]:
    cfg = Config().replace("llm", base_url=stub.base_url, model="stub-model", api_key="sk-test", timeout=timeout)
    cfg = cfg.replace("answer", refuse_below=-1.0)  # these tests are about the LLM, not the evidence gate
    retriever = ListRetriever(CHUNKS)
    answerer = Answerer(retriever, BigramEmbedder(), cfg, llm=make_chat_model(cfg.llm), today=lambda: date(2025, 1, 1))
    return answerer, retriever


QUESTION = "个体工商户转型为企业有什么奖励？"


def test_well_cited_answer_streams_and_verifies(stub: StubServer) -> None:
    stub.script(Reply("个体工商户转型为企业的，给予2万元一次性奖励[1]。项目申报截止时间为2024年5月30日[2]。"))
    answerer, _ = make_answerer(stub)
    items = list(answerer.stream(QUESTION))
    deltas, answer = items[:-1], items[-1]
    assert isinstance(answer, Answer) and all(isinstance(d, str) for d in deltas)
    assert len(deltas) > 5  # token by token, not one block
    assert answer.backend == f"openai:stub-model@{stub.base_url.split('/')[2]}"
    assert not answer.extractive and not answer.refused
    assert answer.unsupported == () and answer.dropped_citations == () and answer.notes == ()
    assert [c.chunk.chunk_id for c in answer.citations] == ["a1", "b1"]
    assert answer.citations[0].quote == "对个体工商户转型为企业的，给予2万元一次性奖励。"
    assert "该措施有效期至2027年12月31日" in "".join(answer.validity)
    assert any("截止时间为2024年5月30日" in v and "已过期" in v for v in answer.validity)
    assert {"retrieve", "generate", "verify", "total"} <= set(answer.timings)
    sent = stub.requests[-1]
    assert sent["stream"] is True and sent["model"] == "stub-model"
    assert "[1] 《" + TITLE_A in sent["messages"][1]["content"] and "浙政办发〔2023〕63号" in sent["messages"][1]["content"]


def test_citation_to_a_clause_not_given_is_dropped(stub: StubServer) -> None:
    stub.script(Reply("转型为企业的给予2万元一次性奖励[1][7]。另见出口信用保险[3]。"))
    answer = make_answerer(stub)[0].ask(QUESTION)
    assert answer.dropped_citations == (7,)
    assert "[7]" not in answer.text
    assert [c.n for c in answer.citations] == [1, 2]  # [3] renumbered to [2]
    assert answer.text.count("[2]") == 1 and answer.citations[1].chunk.chunk_id == "c1"


def test_number_absent_from_cited_clauses_is_unsupported(stub: StubServer) -> None:
    stub.script(Reply("转型为企业的给予5万元一次性奖励，2025年6月30日前申报[1]。"))
    answer = make_answerer(stub)[0].ask(QUESTION)
    assert answer.unsupported == ("5万元", "2025年6月30日")
    assert answer.citations[0].chunk.chunk_id == "a1"


@pytest.mark.parametrize(
    ("reply", "note", "timeout"),
    [
        (Reply("boom", status=500), "HTTP 500", 5.0),
        (Reply("invalid api key", status=401), "密钥无效", 5.0),
        (Reply("This model's maximum context length is 8192 tokens", status=400), "上下文超出", 5.0),
        (Reply("迟到的回答", delay=2.0), "超时", 0.5),
        (Reply("个体工商户转型为企业的给予2万元奖励[1]。" * 3, fault="cut"), "大模型调用失败", 5.0),
        (Reply("个体工商户转型为企业的给予2万元奖励[1]。" * 3, fault="malformed"), "大模型调用失败", 5.0),
    ],
    ids=["http500", "bad-key", "context-overflow", "timeout", "broken-stream", "malformed-stream"],
)
def test_llm_failure_falls_back_to_extractive(stub: StubServer, reply: Reply, note: str, timeout: float) -> None:
    stub.script(reply)
    answer = make_answerer(stub, timeout=timeout)[0].ask(QUESTION)
    assert answer.extractive and not answer.refused
    assert len(answer.notes) == 1 and note in answer.notes[0] and "摘录原文" in answer.notes[0]
    assert answer.text.startswith(EXTRACT_LABEL)
    assert "2万元一次性奖励" in answer.text and answer.citations[0].chunk.chunk_id == "a1"
    assert answer.unsupported == ()


def test_model_saying_not_found_is_a_refusal(stub: StubServer) -> None:
    stub.script(Reply("根据现有文件，未找到关于人才落户的规定。现有条款涉及个体工商户转型和外贸。"))
    answer = make_answerer(stub)[0].ask("人才落户有什么政策？")
    assert answer.refused and not answer.extractive and answer.citations == ()


def test_follow_up_is_condensed_by_the_model(stub: StubServer) -> None:
    rewritten = "组织开展2024年第一批杭州市工信领域项目申报的截止时间是什么？"
    stub.script(Reply(rewritten), Reply("申报截止时间为2024年5月30日[2]。"))
    answerer, retriever = make_answerer(stub)
    history = [("2024年第一批杭州市工信领域项目申报需要什么条件？", "（以下为从文件中摘录的原文）…")]
    answer = answerer.ask("那申报截止时间呢？", history=history)
    assert answer.standalone_question == rewritten and retriever.queries == [rewritten]
    condense_prompt = stub.requests[0]["messages"][0]["content"]
    assert "那申报截止时间呢？" in condense_prompt and history[0][0] in condense_prompt
    assert answer.citations[0].chunk.chunk_id == "b1" and answer.unsupported == ()
    assert "condense" in answer.timings


def test_condense_failure_uses_the_rule_and_still_answers(stub: StubServer) -> None:
    stub.script(Reply("", status=503), Reply("申报截止时间为2024年5月30日[2]。"))
    answerer, retriever = make_answerer(stub)
    answer = answerer.ask("那截止时间呢？", history=[("杭州市工信领域项目申报的条件是什么？", "…")])
    assert retriever.queries == ["关于杭州市工信领域项目申报，截止时间？"]
    assert "HTTP 503" in answer.notes[0] and not answer.extractive
