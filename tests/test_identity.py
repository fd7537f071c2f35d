"""Document identity is the path, not the base name: nothing a user adds can silently replace or drop a notice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.config import Config
from rag.index import build_index, load_index, remove_documents
from rag.store import StoreError
from rag.store.faiss_store import FaissStore
from rag.ingest import ingest
from rag.service import UPLOADS, Service
from tests.test_ingest_inputs import NOTICE, TITLE

pytestmark = pytest.mark.slow

OTHER = NOTICE.replace("测试工作", "评估工作").replace("90%", "85%").replace("浙经信测试〔2024〕7 号", "浙经信测试〔2024〕8 号")


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    d = tmp_path / "d"
    for sub, text in (("a", NOTICE), ("b", OTHER)):
        (d / sub).mkdir(parents=True)
        (d / sub / "notice.txt").write_text(text, encoding="utf-8")
    return d


def test_same_name_in_two_folders_is_two_documents(folders: Path, corpus_cfg, corpus_embedder, tmp_path) -> None:
    cfg = corpus_cfg.replace("index", root=str(tmp_path / "idx"), name="t")
    result = ingest([folders], cfg)
    assert sorted(d.source_file for d in result.documents) == ["a/notice.txt", "b/notice.txt"]
    build_index(cfg.index, corpus_embedder, result.documents, result.chunks)
    service = Service(cfg, FaissStore(cfg.index, corpus_embedder, load_index(cfg.index, corpus_embedder)), corpus_embedder)
    again = service.add_files([folders / "a" / "notice.txt"])  # named by itself: "notice.txt", same text
    assert again.documents_added == 0 and "与已收录的 a/notice.txt 内容相同" in again.errors[0]
    assert len(service.documents()) == 2
    with pytest.raises(StoreError, match="name of 2 files"):
        remove_documents(cfg.index, corpus_embedder, ["notice.txt"])
    assert len(remove_documents(cfg.index, corpus_embedder, ["a/notice.txt"]).documents) == 1


def test_identical_copies_in_two_folders_are_a_reported_duplicate(tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "copy.txt").write_text(NOTICE, encoding="utf-8")
    result = ingest([tmp_path], Config())
    assert [d.source_file for d in result.documents] == ["x/copy.txt"]
    assert len(result.errors) == 1 and "same text as in x/copy.txt: skipped as a duplicate" in result.errors[0].reason


def test_upload_named_like_a_corpus_file_never_replaces_it(corpus_cfg, corpus_embedder, tmp_path) -> None:
    cfg = corpus_cfg.replace("index", root=str(tmp_path / "idx"), name="t")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "000.txt").write_text(NOTICE, encoding="utf-8")
    result = ingest([corpus], cfg)
    build_index(cfg.index, corpus_embedder, result.documents, result.chunks)
    service = Service(cfg, FaissStore(cfg.index, corpus_embedder, load_index(cfg.index, corpus_embedder)), corpus_embedder)
    upload = tmp_path / "up" / "000.txt"
    upload.parent.mkdir()
    upload.write_text(OTHER, encoding="utf-8")
    before, words = service.retriever, service.retriever.words
    first = service.add_files([upload], namespace=UPLOADS)
    assert first.files_ok == (f"{UPLOADS}/000.txt",) and first.replaced == ()
    # the retriever swapped in after the write keeps the service's one question-word tokenizer (jieba loads once)
    assert service.retriever is not before and service.retriever.words is words
    assert service.retriever_for("bm25").words is words
    assert sorted(d.source_file for d in service.documents()) == ["000.txt", f"{UPLOADS}/000.txt"]
    upload.write_text(OTHER.replace("85%", "80%"), encoding="utf-8")  # a new version of the same upload
    second = service.add_files([upload], namespace=UPLOADS)
    assert second.replaced and f"{UPLOADS}/000.txt" in second.replaced[0]
    assert sorted(d.source_file for d in service.documents()) == ["000.txt", f"{UPLOADS}/000.txt"]
    assert {d.title for d in service.documents()} >= {TITLE}


def test_undecodable_file_name_is_ingested_under_an_escaped_name(tmp_path: Path) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    raw = os.fsencode(str(folder)) + b"/\xff\xfe.txt"
    with open(raw, "wb") as f:
        f.write(NOTICE.encode("utf-8"))
    result = ingest([folder], Config())
    assert [d.source_file for d in result.documents] == ["\\xff\\xfe.txt"] and not result.errors
    assert result.chunks and result.documents[0].doc_id
