"""The bundled corpus (data/corpus, 5 messy compilations) splits into the documents a person finds.

How documents are counted: every notice is one document; a document attached after a
notice's signature (the 方案/意见/计划 it 印发, a 公报, an 附件 N) is a child document with
``parent_id`` set.  An exact repeat (000 item 24 = item 12, 002's repeated article) is
dropped and reported as duplicate characters.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Config
from rag.ingest import IngestResult, ingest
from rag.ingest.clean import TOC

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
HANGZHOU = "支持人工智能全产业链高质量发展的若干措施"


@pytest.fixture(scope="module")
def result() -> IngestResult:
    return ingest([CORPUS], Config())


def _docs(result: IngestResult, prefix: str):
    return [d for d in result.documents if d.source_file.startswith(prefix)]


# (title, 文号, signing date, is a child) per file, in order.  A child's 文号/issuer/date are its
# notice's (the notice issues it), so they are not repeated here: see test_children_inherit_their_notice_and_point_at_it.
EXPECTED = {
    "000": [
        ("浙江省经济和信息化厅等五部门关于印发2022年浙江省软件和信息服务业发展统计公报的通知", "浙经信软件〔2023〕289号", "2023-12-28", False),
        ("2022年浙江省软件和信息服务业发展统计公报", None, None, True),
        ("关于2023年浙江省未来工厂和智能工厂(数字化车间)认定名单的公示", "浙经信云计算〔2023〕265号", None, False),
        ("浙江省数字经济发展领导小组办公室关于首批示范型数字经济产业园、数字楼宇名单的公示", None, "2024-01-15", False),
        ("关于2024年园区精准服务中小微企业财政专项激励试点名单的公示", None, "2024-01-15", False),
        ("关于拟认定2023年浙江省企业技术中心(建筑业)的企业名单公示", None, "2024-01-23", False),
        ("关于2023年度浙江省知识产权信息公共服务网点备案名单的公示", None, "2024-01-05", False),
        ("浙江省人民政府办公厅关于支持个体工商户转型升级为企业工作的实施意见", "浙政办发〔2023〕63号", "2023-12-05", False),
        ("浙江省人民政府办公厅关于加快构建市场导向的科技成果转化机制的意见", "浙政办发〔2023〕64号", "2023-12-05", False),
        ("浙江省人民政府办公厅关于加快人工智能产业发展的指导意见", "浙政办发〔2023〕65号", "2023-12-07", False),
        ("浙江省人民政府办公厅关于印发加快培育浙江民营跨国公司“丝路领航”行动计划的通知", "浙政办发〔2023〕68号", "2023-12-15", False),
        ("加快培育浙江民营跨国公司“丝路领航”行动计划", None, None, True),
        ("浙江省人力资源和社会保障厅等4部门关于做好2024年春节期间企业稳工稳产工作的通知", "浙人社发〔2024〕2号", "2024-01-11", False),
        ("关于第六批省级就业见习示范基地拟认定名单和前五批省级就业见习示范基地评估结果的公示", None, "2024-01-18", False),
        ("浙江省经济和信息化厅浙江省财政厅关于公布2023年度浙江省首台(套)装备应用奖励项目清单的通知", None, "2023-12-31", False),
        ("嘉兴市人民政府关于印发嘉兴市推进制造业数字化绿色化改造提质提效实施方案(2024―2026年)的通知", "嘉政发〔2024〕6号", "2024-01-15", False),
        ("嘉兴市推进制造业数字化绿色化改造提质提效实施方案(2024―2026年)", None, None, True),
    ],
    "001": [
        ("关于组织申报2023年度国家科技型中小企业评价的通知", None, None, False),
        ("省经信厅省财政厅浙江银保监局关于开展国家2023年重点新材料首批次应用保险补偿机制试点工作的通知", None, "2023-02-06", False),
        ("关于开展2023年度浙江省AAA级“守合同重信用”企业公示活动的通知", None, "2023-01-13", False),
        ("浙江省高新技术企业认定管理工作领导小组关于组织做好2023年度高新技术企业申报工作的通知", None, "2023-02-07", False),
        ("关于公布2022年创新型产业集群的通知", None, "2023-02-17", False),
        ("浙江省人民政府关于印发浙江省“315”科技创新体系建设工程实施方案(2023—2027年)的通知", "浙政发〔2023〕6号", "2023-02-12", False),
        ("浙江省“315”科技创新体系建设工程实施方案(2023—2027年)", None, None, True),
        ("浙江省数字经济发展领导小组办公室关于印发《关于支持信息服务业稳进提质的实施意见》的通知", "浙数办〔2023〕2号", "2023-02-14", False),
        ("关于支持信息服务业稳进提质的实施意见", None, None, True),
        ("湖州市人民政府办公室关于印发湖州市“十百千万”重大项目攻坚行动2023年工作计划的通知", None, None, False),
    ],
    "002": [
        ("工信部等五部门部署开展“一月一链”中小企业融资促进全国行活动", None, None, False),  # headline completed from the body
        (HANGZHOU, None, None, False),
        ("关于组织开展2024年第一批杭州市工信领域项目申报工作", None, None, False),  # cut headline completed
        ("浙江省政府下达2024年国民经济和社会发展计划(附", None, None, False),
    ],
    "003": [
        ("浙江省人民政府关于印发加快推进“一转四创”建设“互联网+”世界科技创新高地行动计划的通知", "浙政发〔2016〕24号", "2016-08-01", False),
        ("加快推进“一转四创”建设“互联网+”世界科技创新高地行动计划", None, None, True),
        ("科技创新主要预期指标分解", None, None, True),
        ("各市科技创新重点和重大创新平台", None, None, True),
        ("浙江省人民政府关于促进外贸回稳向好的若干意见", "浙政发〔2016〕25号", "2016-08-09", False),
        ("浙江省人民政府办公厅关于印发浙江省供给侧结构性改革去杠杆行动方案(2016—2017年)的通知", "浙政办发〔2016〕89号", "2016-08-10", False),
        ("浙江省供给侧结构性改革去杠杆行动方案(2016—2017年)", None, None, True),
        ("浙江省人民政府办公厅关于加快推进重要产品追溯体系建设的实施意见", "浙政办发〔2016〕90号", "2016-08-10", False),
    ],
    "004": [
        ("关于进一步促进服务型制造发展的指导意见", None, "2020-06-30", False),  # starts mid-document
        ("工业和信息化部关于工业大数据发展的指导意见", "工信部信发〔2020〕67号", "2020-04-28", False),
        ("关于浙江省进一步做好以制造业为重点利用外资工作的若干举措", None, None, False),
        ("浙江省人民政府办公厅关于开展低效工业用地整治促进制造业高质量发展的意见", "浙政办发〔2023〕12号", "2023-02-12", False),
        ("浙江省人民政府关于印发浙江省“415X”先进制造业集群建设行动方案(2023—2027年)的通知", "浙政发〔2023〕4号", "2023-01-17", False),
        ("浙江省“415X”先进制造业集群建设行动方案(2023—2027年)", None, None, True),
        ("关于深入推进服务型制造促进制造业高质量发展的实施意见", "浙经信服务〔2022〕213号", "2022-10-31", False),
        ("关于深入推进服务型制造促进制造业高质量发展的实施意见", None, None, True),
    ],
}


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_documents_per_file_match_the_inventory(result: IngestResult, prefix: str) -> None:
    docs = _docs(result, prefix)
    got = [(d.title, None, None, True) if d.parent_id else (d.title, d.doc_number, d.date, False) for d in docs]
    assert got == EXPECTED[prefix]


def test_no_file_errors_and_totals(result: IngestResult) -> None:
    assert result.errors == []
    assert len(result.files) == 5
    roots = [d for d in result.documents if d.parent_id is None]
    assert len(roots) == 36 and len(result.documents) == 47


def test_children_inherit_their_notice_and_point_at_it(result: IngestResult) -> None:
    by_id = {d.doc_id: d for d in result.documents}
    assert len(by_id) == len(result.documents), "document ids are unique"
    for i, d in enumerate(result.documents):
        if d.parent_id:
            parent = by_id[d.parent_id]
            assert parent.parent_id is None and parent.source_file == d.source_file
            assert parent.char_end <= d.char_start
            assert d.kind in {"attachment", "bulletin"}
            assert (d.doc_number, d.issuer, d.date) == (parent.doc_number, parent.issuer, parent.date)
    bulletin = next(d for d in result.documents if d.title == "2022年浙江省软件和信息服务业发展统计公报")
    assert bulletin.kind == "bulletin"


def test_metadata_dates_and_issuers(result: IngestResult) -> None:
    by_title = {d.title: d for d in result.documents}
    hz = by_title[HANGZHOU]
    assert (hz.valid_from, hz.valid_until, hz.issuer) == ("2024-08-19", "2027-12-31", "杭州市人民政府办公厅")
    assert by_title["关于组织申报2023年度国家科技型中小企业评价的通知"].deadline == "2023-09-15"
    assert by_title["关于组织开展2024年第一批杭州市工信领域项目申报工作"].deadline == "2024-05-30"
    assert by_title["关于2023年浙江省未来工厂和智能工厂(数字化车间)认定名单的公示"].notice_period == ("2024-01-11", "2024-01-18")
    assert by_title["关于浙江省进一步做好以制造业为重点利用外资工作的若干举措"].valid_from == "2023-06-11"
    low_eff = by_title["浙江省人民政府办公厅关于开展低效工业用地整治促进制造业高质量发展的意见"]
    assert (low_eff.valid_from, low_eff.valid_until) == ("2023-03-15", "2028-03-14")  # 有效期为5年
    assert by_title["浙江省人民政府办公厅关于加快推进重要产品追溯体系建设的实施意见"].valid_from == "2016-08-31"
    first = by_title["浙江省经济和信息化厅等五部门关于印发2022年浙江省软件和信息服务业发展统计公报的通知"]
    assert first.issuer.split() == ["浙江省经济和信息化厅", "浙江省发展和改革委员会", "浙江省广播电视局", "浙江省统计局", "浙江省通信管理局"]
    spring = by_title["浙江省人力资源和社会保障厅等4部门关于做好2024年春节期间企业稳工稳产工作的通知"]
    assert len(spring.issuer.split()) == 4  # the signature is split by a page number
    assert by_title["关于公布2022年创新型产业集群的通知"].issuer == "科技部火炬中心"
    assert by_title["浙江省人民政府办公厅关于加快人工智能产业发展的指导意见"].issuer == "浙江省人民政府办公厅"


def test_hangzhou_measures_once_as_14_clauses_under_5_headings(result: IngestResult) -> None:
    docs = [d for d in result.documents if d.title == HANGZHOU]
    assert len(docs) == 1
    chunks = [c for c in result.chunks if c.doc_id == docs[0].doc_id]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    clauses = [c for c in chunks if len(c.heading_path) == 3]
    assert len(clauses) == 14
    assert [c.heading_path[2].split(")")[0] + ")" for c in clauses] == [
        f"({n})" for n in "一 二 三 四 五 六 七 八 九 十 十一 十二 十三 十四".split()
    ]
    headings = list(dict.fromkeys(c.heading_path[1] for c in clauses))
    assert headings == ["一、加快算力设施建设", "二、培育模型开放生态", "三、加快赋能实体经济", "四、推动全产业链发展", "五、强化人才队伍支撑"]
    third = clauses[2]
    assert third.heading_path == (f"《{HANGZHOU}》", "一、加快算力设施建设", "(三)扩容“算力券”发放")
    assert "2.5亿元" in third.text and third.valid_until == "2027-12-31"
    assert all(c.title == HANGZHOU and c.issuer == "杭州市人民政府办公厅" for c in chunks)
    assert any("起施行" in c.text and c.heading_path == (f"《{HANGZHOU}》",) for c in chunks)


def test_offsets_round_trip_for_every_chunk(result: IngestResult) -> None:
    for report in result.files:
        source = (CORPUS / report.source_file).read_text(encoding="utf-8")
        removed = bytearray(len(source))
        for r in report.removed:
            assert source[r.start : r.end] == r.text
            removed[r.start : r.end] = b"\x01" * (r.end - r.start)
        chunks = [c for c in result.chunks if c.source_file == report.source_file]
        assert len(chunks) == report.chunks > 0
        for c in chunks:
            kept = "".join(ch for i, ch in enumerate(source[c.char_start : c.char_end], c.char_start) if not removed[i])
            assert kept == c.text, (c.source_file, c.char_start)


def test_every_source_char_is_in_a_chunk_or_reported(result: IngestResult) -> None:
    for report in result.files:
        source = (CORPUS / report.source_file).read_text(encoding="utf-8")
        covered = bytearray(len(source))
        for r in report.removed:
            covered[r.start : r.end] = b"\x01" * (r.end - r.start)
        spans = sorted((c.char_start, c.char_end) for c in result.chunks if c.source_file == report.source_file)
        for (a, b), (a2, _) in zip(spans, spans[1:]):
            assert b <= a2, "chunks never overlap"
        for a, b in spans:
            covered[a:b] = b"\x01" * (b - a)
        lost = "".join(ch for i, ch in enumerate(source) if not covered[i])
        assert lost.strip() == "", (report.source_file, lost[:80])  # only paragraph breaks between chunks
        assert report.noise_chars + report.duplicate_chars == sum(r.end - r.start for r in report.removed)


def test_duplicates_removed_and_counted_per_file(result: IngestResult) -> None:
    dup = {f.source_file[:3]: f.duplicate_chars for f in result.files}
    assert dup["001"] == dup["003"] == 0
    assert 320 <= dup["000"] <= 340  # L5–8 repeat L1–4; item 24 repeats item 12
    assert 2660 <= dup["002"] <= 2700  # L31–54 repeat L7–30
    assert 500 <= dup["004"] <= 515  # L9 is a truncated preview of L18–24
    assert result.duplicates_removed == 4
    assert sum(1 for d in result.documents if "289号" in (d.doc_number or "") and not d.parent_id) == 1


def test_toc_lines_are_never_headings_or_documents(result: IngestResult) -> None:
    for prefix in ("001", "003"):
        report = next(f for f in result.files if f.source_file.startswith(prefix))
        toc = [r for r in report.removed if r.reason == TOC]
        assert toc, prefix
        for d in _docs(result, prefix):
            assert not any(r.start <= d.char_start < r.end for r in toc)
    for c in result.chunks:
        assert not any(h.rstrip().endswith(("....", "…")) for h in c.heading_path), c.heading_path
    for d in result.documents:
        assert "...." not in d.title


def test_chunks_fit_the_token_budget_and_carry_metadata(result: IngestResult) -> None:
    from rag.tokens import count_tokens

    by_id = {d.doc_id: d for d in result.documents}
    for c in result.chunks:
        d = by_id[c.doc_id]
        assert c.heading_path[0] == f"《{d.title}》"
        assert (c.doc_number, c.issuer, c.date, c.valid_from, c.parent_id) == (
            d.doc_number, d.issuer, d.date, d.valid_from, d.parent_id
        )
        assert d.char_start <= c.char_start < c.char_end <= d.char_end
        if count_tokens(c.text) > 400:
            assert not any(ch in c.text[:-1] for ch in "。；;"), "only a single over-long sentence may exceed"


def test_page_numbers_and_web_cruft_are_not_in_chunks(result: IngestResult) -> None:
    texts = "\n".join(c.text for c in result.chunks)
    for cruft in ("查看详情", "{{", "[展开]", "[收起]", "免费制作", "第151页", "<p>", '\\"', "聚焦 |"):
        assert cruft not in texts, cruft
    assert "国省市制造业相关政策精编1" not in texts


def test_a_lead_in_wrapped_onto_a_line_ending_in_a_colon_is_one_line(result: IngestResult) -> None:
    """001 is hard-wrapped: “…可直接确认符合科技 / 型中小企业条件:” is one lead-in, not a sentence cut before an
    addressee-like line; a line after a sentence end (“…材料工业处。 / 联系方式:”) still starts a new one."""
    texts = "\n".join(c.text for c in result.chunks)
    assert "可直接确认符合科技型中小企业条件:" in texts
    assert "报省经信厅材料工业处。联系方式" not in texts
