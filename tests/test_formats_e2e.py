"""The whole bundled corpus published as PDF and as Word retrieves as well as the text (eval/qa.jsonl).

Slow (about 1-2 minutes the first time on 2 cores: writing 109 PDF pages, reading them back, embedding
the clause texts that differ from the text corpus; later runs hit the vector cache).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Config
from rag.evaluation.qaset import load_qa

pytest.importorskip("pdfplumber")
pytest.importorskip("fpdf")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def test_corpus_as_pdf_and_docx_scores_within_two_points_of_text(corpus_cfg: Config, corpus_embedder,
                                                                  tmp_path_factory: pytest.TempPathFactory,
                                                                  capsys) -> None:
    from bench.formats import HEADER, compare
    from tests.publish import FONT

    if not FONT.exists():
        pytest.skip(f"needs the CJK font {FONT} (`make ocr`)")
    rows = {r.kind: r for r in compare(Path(corpus_cfg.corpus), tmp_path_factory.mktemp("published"), corpus_cfg,
                                       corpus_embedder, load_qa(REPO / "eval" / "qa.jsonl"))}
    with capsys.disabled():
        print("\n" + HEADER)
        for r in rows.values():
            print(r.line(rows["pdf"].pages))
    text = rows["txt"]
    for kind in ("pdf", "docx"):
        row = rows[kind]
        assert row.errors == 0 and row.files == text.files == 5
        assert row.documents == text.documents
        assert abs(row.chunks - text.chunks) <= 0.02 * text.chunks
        assert abs(row.hit5 - text.hit5) <= 0.02, (kind, row.hit5, text.hit5)
    assert rows["pdf"].pages > 50
    assert rows["pdf"].noise_chars > text.noise_chars  # the headers and page numbers of every page, counted
