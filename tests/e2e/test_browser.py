"""The Gradio chat in a real headless browser, over the real corpus index.

The app runs in this process (a Gradio server thread on a free loopback port) over a
*copy* of the session corpus index, because the upload steps add documents to it.
Debian's /usr/bin/chromium drives the page (never `playwright install`); the steps run in
order in one page, like a user would: ask → read the cited answer → expand a card → rate
it → upload a notice → ask about it → upload a bad file.  Screenshots are written to
out/screenshots/ (printed) so a person can check that Chinese renders.
"""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "out" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ANSWER_TIMEOUT_MS = 120_000  # 2 shared cores: a cold first query can take a while

NOTICE_TITLE = "青禾市经济和信息化局关于开展2025年小微企业数字化改造补助工作的通知"
NOTICE = f"""{NOTICE_TITLE}
青经信〔2025〕7号
各区县经信部门，有关企业：
为加快小微企业数字化转型，现就2025年小微企业数字化改造补助工作通知如下。
一、补助对象
在青禾市注册、上年度营业收入2000万元以下的工业小微企业。
二、补助标准
对完成数字化改造并通过验收的小微企业，按改造实际投入的20%给予补助，单个企业补助最高不超过15万元。
三、申报时间
申报截止时间为2025年9月30日。
青禾市经济和信息化局
2025年3月1日
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium, or a skip that says why (checked before the corpus index is built)."""
    if not CHROMIUM.exists():
        print(f"\nbrowser test skipped: {CHROMIUM} is absent (run `make browser` as root)")
        pytest.skip(f"{CHROMIUM} is absent (run `make browser` as root)")
    return CHROMIUM


@pytest.fixture(scope="module")
def served(chromium, corpus_cfg, corpus_index, corpus_embedder, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The real app over its own copy of the corpus index, serving on 127.0.0.1:<free port>."""
    from rag.store.faiss_store import FaissStore
    from rag.service import Service
    from ui.app import build_app, launch

    root = tmp_path_factory.mktemp("browser-index")
    shutil.copytree(corpus_cfg.index.path, root / corpus_cfg.index.name)
    cfg = corpus_cfg.replace("index", root=str(root))
    service = Service(cfg, FaissStore.open(cfg.index, corpus_embedder), corpus_embedder)
    app = build_app(service, cfg)
    port = _free_port()
    launch(app, "127.0.0.1", port, block=False)
    try:
        yield {"url": f"http://127.0.0.1:{port}/", "cfg": cfg, "service": service}
    finally:
        app.close()


@pytest.fixture(scope="module")
def page(chromium, served) -> Iterator[Any]:
    """One zh-CN page for the whole sequence; every request it makes is recorded."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SHOTS}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 1000})
        pg = context.new_page()
        pg.requests = []  # type: ignore[attr-defined]
        pg.on("request", lambda r: pg.requests.append(r.url))  # type: ignore[attr-defined]
        pg.goto(served["url"], wait_until="load")
        pg.locator("#prag-question textarea").wait_for(state="visible")
        yield pg
        browser.close()


def ask(page: Any, question: str) -> Any:
    """Type a question, press Enter, wait until the answer is final; the last bot message."""
    before = page.locator("#prag-chat .prag-notes, #prag-chat .prag-error").count()
    box = page.locator("#prag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#prag-chat .prag-notes, #prag-chat .prag-error').length > n",
        arg=before, timeout=ANSWER_TIMEOUT_MS,
    )
    return page.locator("#prag-chat [data-testid='bot']").last


def upload(page: Any, path: Path) -> str:
    """Choose a file in the upload box, press 添加到索引, return the new report's text."""
    page.evaluate("() => document.querySelectorAll('#prag-add-result div').forEach(d => d.dataset.seen = '1')")
    page.locator("#prag-upload input[type=file]").set_input_files(str(path))
    try:
        page.locator("#prag-upload").get_by_text(path.stem).first.wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path=str(SHOTS / f"upload-failed-{path.stem}.png"))
        print(page.locator("#prag-upload").inner_html()[-2000:])
        raise
    page.locator("#prag-add").click()
    fresh = "#prag-add-result .prag-add-ok:not([data-seen]), #prag-add-result .prag-add-error:not([data-seen])"
    page.locator(fresh).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return page.locator("#prag-add-result").inner_text()


def test_page_is_chinese_and_offline(page, served) -> None:
    assert "政策文件问答" in page.locator("body").inner_text()
    status = page.locator("#prag-status").inner_text()
    assert "摘录原文" in status or "大模型" in status
    assert f"{len(served['service'].documents())} 份文件" in status
    upload_box = page.locator("#prag-upload").inner_text()
    assert "点击选择文件" in upload_box and "Drop File" not in upload_box and "Click to Upload" not in upload_box
    page.screenshot(path=str(SHOTS / "01-start.png"))


def test_corpus_question_with_cited_clause(page) -> None:
    bot = ask(page, "杭州的“算力券”按什么比例给予补贴？")
    text = bot.inner_text()
    assert "30%" in text, text
    cards = bot.locator(".prag-card")
    assert cards.count() >= 1
    titles = [t.inner_text() for t in bot.locator(".prag-card .prag-title").all()]
    assert any("人工智能全产业链" in t for t in titles), titles
    assert bot.locator(".prag-card mark").count() >= 1  # the supporting sentence is highlighted
    page.screenshot(path=str(SHOTS / "02-answer.png"))

    card = next(c for c in cards.all() if "人工智能全产业链" in c.locator(".prag-title").inner_text())
    context = card.locator(".prag-context")
    assert not context.is_visible()
    card.locator("summary").click()
    context.wait_for(state="visible")
    assert card.locator(".prag-focus").count() == 1
    assert "算力券" in card.locator(".prag-focus").inner_text()
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "03-citation-expanded.png"))


def test_feedback_is_appended(page, served) -> None:
    feedback = served["cfg"].index.feedback_path
    bot = page.locator("#prag-chat [data-testid='bot']").last
    bot.hover()
    like = page.locator("#prag-chat button[aria-label='赞'], #prag-chat button[aria-label='Like']").last
    like.click()
    page.wait_for_function("() => true")  # let the event round-trip
    for _ in range(50):
        if feedback.exists() and feedback.read_text(encoding="utf-8").strip():
            break
        page.wait_for_timeout(200)
    rows = [json.loads(line) for line in feedback.read_text(encoding="utf-8").splitlines()]
    assert rows[-1]["rating"] == "up"
    assert "算力券" in rows[-1]["question"]
    assert rows[-1]["citations"] and rows[-1]["answer"] and rows[-1]["time"]


def test_uploaded_notice_is_answerable(page, served, tmp_path) -> None:
    before = served["service"].store.count()
    path = tmp_path / "qinghe-notice.txt"
    path.write_text(NOTICE, encoding="utf-8")
    report = upload(page, path)
    assert "已添加" in report, report
    assert served["service"].store.count() > before
    feedback = served["cfg"].index.feedback_path
    assert feedback.exists() and feedback.read_text(encoding="utf-8").strip(), "feedback lost by the index rewrite"
    page.locator("#prag-add-result").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "04-upload.png"))

    bot = ask(page, "青禾市小微企业数字化改造补助单个企业最高多少？")
    assert "15万元" in bot.inner_text()
    titles = [t.inner_text() for t in bot.locator(".prag-card .prag-title").all()]
    assert any("数字化改造补助" in t for t in titles), titles
    page.screenshot(path=str(SHOTS / "05-uploaded-answer.png"))


def test_uploaded_pdf_is_cited_with_its_page(page, tmp_path) -> None:
    """A notice uploaded as a PDF (header and page number on the page) answers, and its card names the page."""
    pytest.importorskip("pdfplumber")
    pytest.importorskip("fpdf")
    from tests.publish import FONT, write_pdf

    if not FONT.exists():
        pytest.skip(f"needs the CJK font {FONT} (`make ocr`)")
    text = NOTICE.replace("青禾市", "云溪市").replace("青经信", "云经信").replace("15万元", "12万元")
    report = upload(page, write_pdf(text.splitlines(), tmp_path / "yunxi-notice.pdf"))
    assert "已添加" in report and "yunxi-notice.pdf" in report, report
    bot = ask(page, "云溪市小微企业数字化改造补助单个企业最高多少？")
    assert "12万元" in bot.inner_text()
    card = next(c for c in bot.locator(".prag-card").all() if "云溪市" in c.locator(".prag-title").inner_text())
    assert "第1页" in card.locator(".prag-card-meta").inner_text()
    page.screenshot(path=str(SHOTS / "05b-uploaded-pdf-answer.png"))


def test_bad_docx_upload_says_why(page, served, tmp_path) -> None:
    before = served["service"].store.count()
    path = tmp_path / "damaged.docx"
    path.write_bytes(b"not a zip archive" * 50)
    report = upload(page, path)
    assert "damaged.docx" in report and "File is not a zip file" in report, report
    assert served["service"].store.count() == before


def test_bad_file_shows_error_and_keeps_index(page, served, tmp_path) -> None:
    service = served["service"]
    before = (len(service.documents()), service.store.count())
    path = tmp_path / "broken.txt"
    path.write_bytes(b"\x00\x01\x02\xff\xfe" * 200)
    report = upload(page, path)
    assert "broken.txt" in report and "已添加" not in report, report
    assert page.locator("#prag-add-result .prag-add-error").count() >= 1
    assert (len(service.documents()), service.store.count()) == before
    page.locator("#prag-add-result").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "06-bad-file.png"))


def choose(page: Any, elem_id: str, value: str) -> None:
    """Pick ``value`` in a Gradio dropdown by typing it and clicking the matching option."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).first.click()
    page.wait_for_function(
        "([id, v]) => document.querySelector(`#${id} input`).value === v", arg=[elem_id, value])


def test_document_filter_restricts_citations(page) -> None:
    title = "2022年浙江省软件和信息服务业发展统计公报"
    choose(page, "prag-filter-doc", title)
    try:
        bot = ask(page, "软件业务收入是多少？")
        titles = [t.inner_text() for t in bot.locator(".prag-card .prag-title").all()]
        assert titles and all(t == title for t in titles), titles
        assert "9152.9" in bot.inner_text()
    finally:
        choose(page, "prag-filter-doc", "全部")


def test_clear_conversation(page) -> None:
    assert page.locator("#prag-chat [data-testid='bot']").count() > 0
    page.locator("#prag-clear").click()
    page.wait_for_function("() => document.querySelectorAll('#prag-chat [data-testid=\"bot\"]').length === 0")


def test_no_request_left_the_machine(page) -> None:
    outside = [u for u in page.requests if not u.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))]
    assert not outside, outside
