"""PDF, Word, web-page and scanned files, written in the test from a bundled notice, read back.

Every fixture is a real file made by a real writer (fpdf2, python-docx, Pillow, a GB2312 page),
and OCR is the real tesseract: what is asserted is what a user who downloaded the notice gets.
"""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

import pytest

from rag.config import Config
from rag.ingest import IngestResult, ingest
from rag.ingest.clean import PAGE_NUMBER, RUNNING_FOOTER, RUNNING_HEADER, WEB_CRUFT, clean
from rag.ingest.formats import read_file
from rag.ingest.formats.tables import table_lines
from rag.records import Chunk
from rag.textnorm import compact
from tests.publish import FONT, HEADER, write_docx, write_pdf, write_scan, write_web_page

pytest.importorskip("pdfplumber")
pytest.importorskip("fpdf")
if not FONT.exists():
    pytest.skip(f"needs the CJK font {FONT} (Debian fonts-wqy-microhei, `make ocr`)", allow_module_level=True)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
TITLE = "浙江省人民政府关于促进外贸回稳向好的若干意见"
NUMBER = "浙政发〔2016〕25号"
ROWS = [["设区市", "补助上限(万元)", "备注"], ["青禾市", "15", "含县区"], ["云溪市", "20", "不含县区"]]


def notice() -> list[str]:
    """003's 浙政发〔2016〕25号 as printed (lines 289-357), blank lines dropped."""
    lines = next(CORPUS.glob("003_*.txt")).read_text(encoding="utf-8").split("\n")[288:357]
    return [ln for ln in lines if ln.strip()]


def kept_text(source: str, result: IngestResult, chunk: Chunk) -> str:
    """``source[char_start:char_end]`` with the removed spans taken out (the offsets invariant)."""
    removed = set()
    for r in result.files[0].removed:
        assert source[r.start:r.end] == r.text
        removed.update(range(r.start, r.end))
    return "".join(ch for i, ch in enumerate(source[chunk.char_start:chunk.char_end], chunk.char_start)
                   if i not in removed)


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = notice()
    lines[5] = lines[5] + "对使用算\uf98a券的企业另行支持。"  # a compatibility ideograph, as some PDF writers emit
    return write_pdf(lines, tmp_path_factory.mktemp("pdf") / "notice.pdf", table=(6, ROWS))


def test_pdf_notice_reads_with_its_metadata_and_without_page_furniture(pdf_file: Path) -> None:
    result = ingest([pdf_file], Config())
    assert not result.errors
    report = result.files[0]
    assert report.pages >= 3
    assert [(d.title, d.doc_number, d.date) for d in result.documents][:1] == [(TITLE, NUMBER, "2016-08-09")]
    reasons = [r.reason for r in report.removed]
    assert reasons.count(RUNNING_HEADER) == report.pages and reasons.count(PAGE_NUMBER) == report.pages
    text = "".join(c.text for c in result.chunks)
    assert HEADER not in text and "第 1 页" not in text and "第 2 页" not in text
    source = read_file(pdf_file, Config()).text
    for c in result.chunks:
        assert kept_text(source, result, c) == c.text


def test_pdf_lines_wrapped_on_the_page_are_one_line_again(pdf_file: Path) -> None:
    """Every paragraph of the notice, wrapped over several lines (and pages) in the PDF, is one clean line."""
    read = read_file(pdf_file, Config())
    assert any(r.reason == "line wrap" for r in read.known)
    paragraphs = [compact(p) for p in clean(read.text, read.known).text.split("\n")]
    long = [compact(ln) for ln in notice() if len(ln) > 120]
    assert len(long) >= 10
    assert [ln for ln in long if not any(ln in p for p in paragraphs)] == []
    assert any(len(c.pages) == 2 for c in ingest([pdf_file], Config()).chunks), "a clause over a page break"


def test_pdf_table_rows_carry_their_column_names_and_page(pdf_file: Path) -> None:
    result = ingest([pdf_file], Config())
    row = next(c for c in result.chunks if "设区市: 青禾市 | 补助上限(万元): 15 | 备注: 含县区" in c.text)
    assert "设区市: 云溪市 | 补助上限(万元): 20 | 备注: 不含县区" in row.text
    import pdfplumber

    with pdfplumber.open(pdf_file) as pdf:
        table_page = next(i for i, p in enumerate(pdf.pages, 1) if "青禾市" in (p.extract_text() or ""))
    assert table_page in row.pages and row.page_label.startswith("第")


def test_pdf_page_holding_only_a_table_is_read(tmp_path: Path) -> None:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF()
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_font("wqy", size=11)
    pdf.add_page()
    with pdf.table(headings_style=FontFace()) as table:
        for row in ROWS:
            cells = table.row()
            for value in row:
                cells.cell(value)
    pdf.output(str(tmp_path / "table.pdf"))
    lines = read_file(tmp_path / "table.pdf", Config()).text.split("\n")
    assert "设区市: 青禾市 | 补助上限(万元): 15 | 备注: 含县区" in lines


def test_compatibility_ideographs_are_unified(pdf_file: Path) -> None:
    import pdfplumber

    with pdfplumber.open(pdf_file) as pdf:
        raw = "".join(p.extract_text() or "" for p in pdf.pages)
    assert "\uf98a" in raw and "算力券" not in raw  # the file really has the lookalike
    assert any("算力券" in c.text for c in ingest([pdf_file], Config()).chunks)


def test_docx_merged_cells_once_and_headers_footers_out(tmp_path: Path) -> None:
    rows = [ROWS[0], ["青禾市", "15", "含县区"], ["青禾市", "18", "山区县"], ROWS[2]]
    # “15” merged across 补助上限 and 备注: written once; 青禾市 merged down two rows: named in both
    path = write_docx(notice(), tmp_path / "notice.docx", table=(6, rows), merges=[(1, 1, 1, 2), (1, 0, 2, 0)])
    result = ingest([path], Config())
    assert not result.errors
    assert result.documents[0].title == TITLE and result.documents[0].doc_number == NUMBER
    lines = "\n".join(c.text for c in result.chunks).split("\n")
    assert "设区市: 青禾市 | 补助上限(万元): 15" in lines
    assert "设区市: 青禾市 | 补助上限(万元): 18 | 备注: 山区县" in lines
    assert "设区市: 云溪市 | 补助上限(万元): 20 | 备注: 不含县区" in lines
    text = "\n".join(lines)
    assert HEADER not in text and "政策汇编 内部资料" not in text
    reasons = {r.reason for r in result.files[0].removed}
    assert {RUNNING_HEADER, RUNNING_FOOTER} <= reasons


def test_gb2312_web_page_main_text_metadata_and_attachments(tmp_path: Path) -> None:
    body = [ln for ln in notice() if ln.strip() not in (NUMBER,) and "关于 促进外贸" not in ln]
    path = write_web_page(TITLE, NUMBER, "2016-08-15", body, tmp_path / "notice.htm", rows=ROWS)
    assert b"\xd5\xe3\xbd\xad" in path.read_bytes()  # 浙江 in GB2312 bytes
    result = ingest([path], Config())
    assert not result.errors
    doc = result.documents[0]
    assert (doc.title, doc.doc_number, doc.date) == (TITLE, NUMBER, "2016-08-09")
    text = "".join(c.text for c in result.chunks)
    for chrome in ("当前位置", "字号", "分享到", "打印本页", "关闭窗口", "浙ICP备", "主办", "索引号", "互动交流"):
        assert chrome not in text, chrome
    assert "设区市: 云溪市 | 补助上限(万元): 20 | 备注: 不含县区" in text
    report = result.files[0]
    assert any(n.startswith("attachment link: 附件1.申报表.docx -> /att/P020240115.docx") for n in report.notes)
    assert any(r.reason == WEB_CRUFT and "打印本页" in r.text for r in report.removed)  # chrome inside the text
    assert any(n.startswith("site chrome outside the main text left out") for n in report.notes)


def test_scanned_page_is_read_by_ocr_and_marked(tmp_path: Path, capsys) -> None:
    lines = notice()[:6]
    path = write_scan(lines, tmp_path / "scan.pdf")
    off = ingest([path], Config().replace("formats", ocr=False))
    assert not off.chunks and len(off.errors) == 1
    assert "page(s) 1 of 1 have no text layer" in off.errors[0].reason and "OCR is off" in off.errors[0].reason
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract not installed (`make ocr`)")
    result = ingest([path], Config())
    assert not result.errors, result.errors
    assert result.chunks and all(c.ocr and c.pages == (1,) for c in result.chunks)
    assert result.files[0].ocr_pages == (1,)
    source, read = compact("".join(lines)), compact("".join(c.text for c in result.chunks))
    matched = sum(b.size for b in difflib.SequenceMatcher(None, source, read, autojunk=False).get_matching_blocks())
    with capsys.disabled():
        print(f"\nOCR of the scanned fixture: {matched} of {len(source)} source characters recovered "
              f"({matched / len(source):.1%}); {len(read)} characters read")
    assert matched >= 0.9 * len(source)


def test_scanned_page_without_tesseract_names_the_package(tmp_path: Path, monkeypatch) -> None:
    path = write_scan(notice()[:3], tmp_path / "scan.pdf")
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on the PATH
    from rag.ingest.formats import ocr

    ocr.ocr_missing.cache_clear()
    try:
        result = ingest([path], Config())
    finally:
        ocr.ocr_missing.cache_clear()
    assert len(result.errors) == 1 and "tesseract is not installed" in result.errors[0].reason
    assert "tesseract-ocr-chi-sim" in result.errors[0].reason


def test_bad_files_are_refused_with_the_reason_and_others_still_read(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_font("wqy", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "加密的通知。")
    pdf.output(str(tmp_path / "locked.pdf"))
    (tmp_path / "broken.docx").write_bytes(b"this is not a zip archive at all")
    (tmp_path / "old.doc").write_bytes(b"plain bytes, not a Word 97 file" * 20)
    write_docx(notice(), tmp_path / "good.docx")
    result = ingest([tmp_path], Config())
    why = {Path(e.path).name: e.reason for e in result.errors}
    assert "encrypted PDF" in why["locked.pdf"]
    assert "File is not a zip file" in why["broken.docx"]
    assert "old.doc" in why
    assert [f.source_file for f in result.files] == ["good.docx"]
    missing = ingest([tmp_path / "old.doc"], Config().replace("formats", doc_tool="antiword-not-here"))
    assert "needs antiword-not-here, which is not installed" in missing.errors[0].reason


@pytest.mark.skipif(shutil.which("antiword") is None, reason="antiword not installed (`make ocr`)")
def test_doc_that_is_really_a_docx_is_read_as_docx(tmp_path: Path) -> None:
    path = write_docx(notice(), tmp_path / "renamed.doc")
    result = ingest([path], Config())
    assert not result.errors and result.documents[0].title == TITLE


def test_table_lines_rules() -> None:
    assert table_lines([["地区", "金额\n(万元)"], ["青禾\n市", "15"], [None, "20"]]) == [
        "地区: 青禾市 | 金额(万元): 15", "金额(万元): 20"]
    assert table_lines([["合计", None, "100"]]) == ["合计 | 100"]


def test_page_and_ocr_survive_json_and_show_in_citations() -> None:
    from datetime import date

    from rag.cli.ask import format_details
    from rag.records import Answer, Citation
    from ui.render import citation_card

    chunk = Chunk("c1", "d1", TITLE, (f"《{TITLE}》",), "对出口企业给予支持。", "notice.pdf", 10, 20,
                  pages=(3, 4), ocr=True)
    again = Chunk.from_dict(json.loads(json.dumps(chunk.to_dict())))
    assert again == chunk and again.page_label == "第3–4页"
    cite = Citation(1, chunk, 0.9, quote="对出口企业给予支持。")
    assert cite.to_dict()["pages"] == [3, 4] and cite.to_dict()["ocr"] is True
    details = format_details(Answer("q", "a[1]", citations=(cite,)))
    assert "出处：notice.pdf 第3–4页（OCR识别文字）:10-20" in details
    card = citation_card(cite, (), date(2024, 1, 1))
    assert "第3–4页" in card and "OCR识别文字" in card
