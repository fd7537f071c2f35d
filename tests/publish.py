"""Publish notices the way they reach users: real PDF, Word, scanned-PDF and web-page files.

Used by the format tests and ``bench/formats.py``.  The PDFs are written by fpdf2 with the
WenQuanYi Micro Hei font (Debian ``fonts-wqy-microhei``), wrapping Chinese text at any character
as office software does; Word files by python-docx; scans are text rendered to an image by Pillow.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
HEADER = "浙江省人民政府公报"


def write_pdf(lines: Sequence[str], path: Path, header: str = HEADER,
              table: tuple[int, Sequence[Sequence[str]]] | None = None) -> Path:
    """A4 PDF: ``header`` atop every page, “第 N 页” at the foot, ``table`` = (after line i, rows) drawn ruled."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class Notice(FPDF):
        def header(self) -> None:
            self.set_font("wqy", size=9)
            self.set_y(10)
            self.cell(0, 5, header, align="C")
            self.set_y(25)
            self.set_font("wqy", size=11)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("wqy", size=9)
            self.cell(0, 5, f"第 {self.page_no()} 页", align="C")

    pdf = Notice(format="A4")
    pdf.add_font("wqy", fname=str(FONT))
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(True, margin=25)
    pdf.add_page()
    for i, line in enumerate(lines):
        text = "\u3000\u3000" + line.replace("\t", "    ").strip() if line.strip() else ""
        if text:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        else:
            pdf.ln(6)
        if table and table[0] == i:
            pdf.ln(3)
            with pdf.table(headings_style=FontFace(), line_height=6) as t:
                for row in table[1]:
                    cells = t.row()
                    for value in row:
                        cells.cell(value)
            pdf.ln(3)
    pdf.output(str(path))
    return path


def write_docx(lines: Sequence[str], path: Path, header: str = HEADER,
               table: tuple[int, Sequence[Sequence[str]]] | None = None,
               merges: Sequence[tuple[int, int, int, int]] = ()) -> Path:
    """A .docx, one paragraph per line, a header and a footer; ``table`` = (after line i, rows), its cells
    ``merges`` = (row0, col0, row1, col1) merged as Word does, keeping the first cell's text."""
    import docx

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = header
    section.footer.paragraphs[0].text = "政策汇编 内部资料"
    for i, line in enumerate(lines):
        document.add_paragraph(line)
        if table and table[0] == i:
            rows = table[1]
            t = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    t.cell(r, c).text = value
            for r0, c0, r1, c1 in merges:
                keep = t.cell(r0, c0).text
                t.cell(r0, c0).merge(t.cell(r1, c1)).text = keep
    document.save(str(path))
    return path


def write_scan(lines: Sequence[str], path: Path, dpi: int = 200) -> Path:
    """An image-only PDF: the lines rendered black on white, wrapped to the page, one A4 page per screenful."""
    from PIL import Image, ImageDraw, ImageFont

    width, height, margin = int(8.27 * dpi), int(11.69 * dpi), int(0.9 * dpi)
    font = ImageFont.truetype(str(FONT), size=int(dpi * 14 / 72))
    step = int(font.size * 1.6)
    rows: list[str] = []
    for line in lines:
        current = ""
        for ch in line:
            if font.getlength(current + ch) > width - 2 * margin:
                rows.append(current)
                current = ""
            current += ch
        rows.append(current)
    per_page = (height - 2 * margin) // step
    pages = []
    for start in range(0, len(rows), per_page):
        image = Image.new("L", (width, height), 255)
        draw = ImageDraw.Draw(image)
        for k, row in enumerate(rows[start:start + per_page]):
            draw.text((margin, margin + k * step), row, font=font, fill=0)
        pages.append(image)
    pages[0].save(str(path), "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return path


def write_web_page(title: str, doc_number: str, date: str, paragraphs: Sequence[str], path: Path,
                   rows: Sequence[Sequence[str]] = ()) -> Path:
    """A GB2312 government page: breadcrumbs, 字号 bar, info table, the notice, share bar, attachments, footer."""
    e = html.escape
    body = "".join(f"<p style=\"text-indent:2em\">{e(p)}</p>\n" for p in paragraphs)
    table = ""
    if rows:
        cells = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        table = f"<table border=\"1\">{cells}</table>"
    page = f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{e(title)}_浙江省人民政府门户网站</title>
<meta name="ArticleTitle" content="{e(title)}"><meta name="PubDate" content="{e(date)} 09:30">
</head><body>
<div class="top"><a href="/">首页</a> <a href="/zwgk">政务公开</a> <a href="/hd">互动交流</a></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a> &gt; 政策文件</div>
<table class="info"><tr><td>索引号：</td><td>002482410/2024-00012</td><td>发文字号：</td><td>{e(doc_number)}</td></tr>
<tr><td>发布机构：</td><td>省政府办公厅</td><td>发布日期：</td><td>{e(date)}</td></tr></table>
<div class="article">
<h1>{e(title)}</h1>
<div class="fontsize">字号：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a></div>
<div id="zoom">
{body}{table}
<p>附件：<a href="/att/P020240115.docx">附件1.申报表.docx</a></p>
<p>【<a href="#">打印本页</a>】【<a href="#">关闭窗口</a>】</p>
</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
</div>
<div class="links"><a href="/a">国务院</a> <a href="/b">浙江省发展和改革委员会</a> <a href="/c">浙江省经济和信息化厅</a></div>
<div class="footer">主办：浙江省人民政府办公厅 承办：浙江省大数据发展管理局 浙ICP备05003211号</div>
</body></html>"""
    path.write_bytes(page.encode("gb18030"))
    return path


def publish_corpus(corpus: Path, kind: str, out: Path) -> Path:
    """Every ``*.txt`` of ``corpus`` written as ``kind`` (``pdf`` or ``docx``) into ``out``: one line, one paragraph."""
    out.mkdir(parents=True, exist_ok=True)
    write = {"pdf": write_pdf, "docx": write_docx}[kind]
    for f in sorted(corpus.glob("*.txt")):
        write(f.read_text(encoding="utf-8").split("\n"), out / f"{f.stem}.{kind}")
    return out
