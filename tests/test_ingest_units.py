"""Unit behaviour of the ingest steps: deletion-only cleaning, clause markers, chunk budgets, documents."""

from __future__ import annotations

import pytest

from rag.ingest.clauses import ClauseChunker, find_markers
from rag.ingest.clean import DUPLICATE, ESCAPE, HTML, LINE_WRAP, PAGE_NUMBER, TOC, WEB_CRUFT, CleanText, clean
from rag.ingest.documents import split_documents
from rag.ingest.read import UnreadableFile, decode
from rag.records import Document
from rag.tokens import count_tokens
from rag.textnorm import cn_int, cn_numeral


def _plain(text: str) -> CleanText:
    """Text that needs no cleaning, as the chunker receives it."""
    return CleanText(source=text, text=text, src=tuple(range(len(text))), removed=())


def _is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def _check_map(c: CleanText) -> None:
    assert len(c.src) == len(c.text)
    assert all(c.source[s] == ch for s, ch in zip(c.src, c.text))
    removed = sum(r.end - r.start for r in c.removed)
    assert removed + len(c.text) == len(c.source)


# --- clean ------------------------------------------------------------------------------


def test_clean_is_deletion_only_with_a_source_map() -> None:
    src = "22\n一、总体要求\n各地要抓紧推进相关工作并力争在2023年\n23\n6 月底前完成。\n查看详情 -\n<p>开展\\\"双百\\\"行动</p>\n"
    c = clean(src)
    _check_map(c)
    assert _is_subsequence(c.text, src)
    assert "22" not in c.text.split("\n")[0]
    assert "22" not in c.text and "23\n" not in c.text
    assert "各地要抓紧推进相关工作并力争在2023年6 月底前完成。" in c.text  # page break inside a sentence rejoined, stray space kept
    assert '开展"双百"行动' in c.text
    reasons = {r.reason for r in c.removed}
    assert {PAGE_NUMBER, LINE_WRAP, HTML, ESCAPE} <= reasons
    assert any(r.reason.startswith("web cruft") and "查看详情" in r.text for r in c.removed)


def test_page_numbers_must_continue_the_sequence() -> None:
    lines = ["5", "第一段内容很长很长很长很长很长很长很长很长。", "6", "序号 名称", "17", "第二段内容。", "7", "第三段。"]
    c = clean("\n".join(lines))
    pages = [r.text.strip() for r in c.removed if r.reason == PAGE_NUMBER]
    assert pages == ["5", "6", "7"]
    assert "17" in c.text  # a table row number breaks the sequence: it is text


def test_toc_with_dot_leaders_is_removed() -> None:
    src = (
        "目 录\n1.关于组织申报工作的通知 ............ 3\n2.关于开展试点的通知\n(浙政发〔2016〕24 号) (23)\n"
        "关于组织申报工作的通知\n各有关单位:\n现将有关事项通知如下。\n"
    )
    c = clean(src)
    toc = "".join(r.text for r in c.removed if r.reason == TOC)
    assert "............ 3" in toc and "(23)" in toc and "目 录" in toc
    assert c.text.startswith("关于组织申报工作的通知")


def test_web_cruft_lines_and_category_prefix() -> None:
    src = "免费制作\n粉丝: {{bookData.followerCount}}\n[展开]\n聚焦 | 杭州市关于支持发展的若干措施\n正文内容。\n"
    c = clean(src)
    assert c.text == "杭州市关于支持发展的若干措施\n正文内容。\n"
    assert all(r.reason.startswith(WEB_CRUFT) for r in c.removed)


def test_running_header_with_changing_page_digits() -> None:
    body = "\n".join(f"政策精编{n}\n第{n}段。" for n in range(146, 150))
    c = clean(body)
    assert "政策精编" not in c.text and c.text.count("段。") == 4


def test_repeated_block_is_removed_as_duplicate_but_short_boilerplate_is_kept() -> None:
    block = "12.关于开展甲工作的通知各有关单位:\n经审定,现将《甲公报》印发给你们。\n浙江省经济和信息化厅2023年12月28日\n"
    again = block.replace("12.", "24.")
    addressee = "各市、县(市、区)人民政府:\n"
    c = clean(block + addressee + "第一段正文。\n" + again + addressee + "第二段正文。\n")
    dups = [r for r in c.removed if r.is_duplicate]
    assert len(dups) == 1 and dups[0].text.startswith("24.") and dups[0].reason.startswith(DUPLICATE)
    assert len(dups[0].text) == len(block) + len(addressee)
    assert "第二段正文。" in c.text


def test_hard_wrapped_pdf_lines_are_rejoined() -> None:
    lines = [f"这是第{n:03d}行按照固定宽度折行的段落文字内容测试用的" for n in range(60)]  # 26 wide
    lines += ["字。", "一、下一条"]
    c = clean("\n".join(lines))
    assert c.text.count("\n") == 1 and c.text.endswith("字。\n一、下一条")


# --- read -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        ("政策".encode("utf-8"), "政策"),
        (b"\xef\xbb\xbf" + "政策".encode("utf-8"), "政策"),
        ("政策〔2023〕".encode("gb18030"), "政策〔2023〕"),
        ("政策".encode("gbk"), "政策"),
    ],
)
def test_decode_encodings(data: bytes, expected: str) -> None:
    assert decode(data) == expected


def test_decode_refuses_binary() -> None:
    with pytest.raises(UnreadableFile, match="binary"):
        decode(b"abc\x00def")


# --- clause markers ---------------------------------------------------------------------


def test_only_the_next_expected_number_is_a_marker() -> None:
    text = (
        "一、总体要求\n(一)指导思想。坚持统一、覆盖全面,符合《办法》第六、七条规定。\n"
        "(二)目标。总额提升至2.5亿元。\n附件:1.2024年汇总表\n2.2024年名单\n"
        "二、保障用工1.强化要素保障。2.加强监测。\n三、其他"
    )
    labels = [m.label for m in find_markers(text)]
    assert labels == ["一、总体要求", "(一)指导思想", "(二)目标", "二、保障用工", "1.强化要素保障", "2.加强监测", "三、其他"]


def test_all_marker_kinds_rank_into_a_path() -> None:
    text = "第一章 总则\n第一条 目的。为了规范管理,制定本办法的具体条款内容如下所述。\n一、范围\n(一)对象\n1.企业\n(1)规模\n①小型企业的认定标准按照国家有关规定执行,不另行规定。"
    doc = Document("d", "测试办法", "f.txt", 0, len(text))
    chunks = ClauseChunker(max_tokens=400, min_chars=1).split(doc, _plain(text))
    deepest = chunks[-1].heading_path
    assert deepest[0] == "《测试办法》" and deepest[1].startswith("第一章") and deepest[-1].startswith("①")
    assert len(deepest) == 8


def test_long_clause_is_split_at_sentence_ends_only() -> None:
    sentence = "支持企业开展关键核心技术攻关并给予资金补助" * 3 + "。"
    text = "一、支持创新\n" + sentence * 20
    doc = Document("d", "测试", "f.txt", 0, len(text))
    chunks = ClauseChunker(max_tokens=120).split(doc, _plain(text))
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks).replace("\n", "") == text.replace("\n", "")
    for c in chunks:
        assert count_tokens(c.text) <= 120 and c.text.endswith("。")
        assert c.heading_path == ("《测试》", "一、支持创新")
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_tiny_siblings_merge_under_their_parent() -> None:
    text = "一、材料\n1.申请表;\n2.营业执照;\n3.其他材料。\n二、程序\n企业在线提交申请材料,由所在地主管部门审核后报送。"
    doc = Document("d", "测试", "f.txt", 0, len(text))
    chunks = ClauseChunker(min_chars=40).split(doc, _plain(text))
    paths = [c.heading_path for c in chunks]
    assert ("《测试》", "一、材料") in paths and len(chunks) == 2


# --- documents --------------------------------------------------------------------------


def test_notice_with_attached_plan_becomes_parent_and_child() -> None:
    src = (
        "浙江省人民政府关于印发测试行动方案的通知\n浙政发〔2023〕9 号\n各市、县(市、区)人民政府:\n"
        "现将《测试行动方案》印发给你们,请认真贯彻实施。\n浙江省人民政府\n2023年2月1日\n"
        "测试行动方案\n一、总体要求\n到2025年,完成测试任务。\n本方案自2023年3月1日起施行。\n"
    )
    split = split_documents(clean(src), "x.txt")
    notice, plan = split.documents
    assert (notice.title, notice.doc_number, notice.issuer, notice.date) == (
        "浙江省人民政府关于印发测试行动方案的通知", "浙政发〔2023〕9号", "浙江省人民政府", "2023-02-01"
    )
    assert (plan.title, plan.parent_id, plan.kind, plan.valid_from) == ("测试行动方案", notice.doc_id, "attachment", "2023-03-01")
    assert (plan.doc_number, plan.issuer, plan.date) == (notice.doc_number, notice.issuer, notice.date)
    assert src[notice.char_start : notice.char_end].startswith("浙江省人民政府关于")
    assert src[plan.char_start : plan.char_end].startswith("测试行动方案")


def test_web_feed_articles_split_at_separators() -> None:
    src = "-\n甲新闻标题\n第一篇正文。\n查看详情 -\n聚焦 | 关于乙的通知\n第二篇正文。\n查看详情 -\n"
    split = split_documents(clean(src), "feed.txt")
    assert [d.title for d in split.documents] == ["甲新闻标题", "关于乙的通知"]


def test_repeated_document_is_dropped_once_without_double_counting() -> None:
    src = "-\n甲新闻标题\n第一篇正文。\n查看详情 -\n聚焦 | 甲新闻标题\n第一篇正文。\n查看详情 -\n"
    c = clean(src)
    split = split_documents(c, "feed.txt")
    assert [d.title for d in split.documents] == ["甲新闻标题"]
    dups = [r for r in split.removed if r.is_duplicate]
    assert "".join(r.text for r in dups) == "甲新闻标题\n第一篇正文。"
    spans = sorted((r.start, r.end) for r in list(c.removed) + split.removed)
    assert all(b <= a2 for (_, b), (a2, _) in zip(spans, spans[1:])), "removals never overlap"


def test_numbers_in_words_convert_both_ways() -> None:
    """Clause markers (第十二条, (二十一)) and rounds asked (第2批 / 第二批) share one conversion."""
    assert [cn_int(d) for d in ("7", "九", "十", "十二", "二十", "二十一")] == [7, 9, 10, 12, 20, 21]
    assert [cn_numeral(n) for n in (2, 10, 12, 20, 99)] == ["二", "十", "十二", "二十", "九十九"]
    assert all(cn_int(cn_numeral(n)) == n for n in range(1, 100))
    assert cn_numeral(100) == "100"  # beyond what notices number in words here: left as digits
