"""Answer-stage pieces without a server or an index: packing, verification, validity,
the extractive answer, its three outcomes, the question's intent, the answerability model."""

from __future__ import annotations

from datetime import date

import pytest

from rag.answer import Answerer
from rag.answer.answerability import FEATURES, AnswerabilityModel, auc, fit, sibling_modifier, sibling_term, unmentioned
from rag.lexical import PolicyTokenizer
from rag.intent import (asked_term, asker_offices, asks_doc_number, asks_province, asks_validity, defines, leaves_open, only_as_status, other_edition,
                        other_grade, outside_series, per_recipient_unstated, target_for_threshold, without_field_asks,
                        question_bigrams, rate_put, read_intent, record_answers, states)
from rag.answer.condense import as_follow_up, condense_heuristic, is_follow_up, names_notice, opens_as_follow_up, topic
from rag.answer.context import Clause, format_clause, pack
from rag.answer.extractive import (
    EXTRACT_LABEL, GAP, Extract, Scored, choose, cites_named, is_file_name, is_title, merge_extracts, named_record, notice_names, quote, title_match,
)
from rag.answer.llm import backend_name, load_prompt, make_chat_model
from rag.answer.validity import validity_lines
from rag.answer.verify import facts, normalise_markers, supported, verify
from rag.config import Config, LLMConfig
from rag.records import Chunk, Citation, Hit
from rag.textnorm import compact
from rag.tokens import count_tokens
from rag.sentences import answer_units, split_sentences, validity_unit
from tests.test_answer_llm import ANSWERS, CHUNKS, QUESTION, BigramEmbedder, ListRetriever, fixed_model


def clauses() -> list[Clause]:
    return [Clause(i + 1, c, 1.0) for i, c in enumerate(CHUNKS)]


def test_pack_numbers_hits_first_then_neighbours_within_budget() -> None:
    side = Chunk("a2", "docA", CHUNKS[0].title, ("(四)",), "奖励对象须在2024年底前完成登记。", "000.txt", 140, 160, ordinal=4)
    hits = [Hit(c, 1.0 - i / 10) for i, c in enumerate(CHUNKS)]
    packed = pack(hits, 10_000, lambda chunk, n: [side] if chunk.chunk_id == "a1" else [], 1)
    assert [(c.n, c.chunk.chunk_id, c.via) for c in packed] == [(1, "a1", None), (2, "b1", None), (3, "c1", None), (4, "a2", 1)]
    first = count_tokens(format_clause(1, CHUNKS[0])) + 2
    assert [c.chunk.chunk_id for c in pack(hits, first, None)] == ["a1"]
    text = format_clause(1, CHUNKS[0])
    assert text.startswith('<clause id="1">\n[1] 《' + CHUNKS[0].title + "》（浙政办发〔2023〕63号）") and "条款位置：(三)加大财政支持" in text
    assert text.endswith("\n</clause>")


def test_split_sentences_is_verbatim() -> None:
    text = "第一句,含逗号。第二句;第三句\n第四句没有句号"
    assert split_sentences(text) == ["第一句,含逗号。", "第二句;", "第三句", "第四句没有句号"]


def test_a_urls_question_mark_ends_no_sentence() -> None:
    """“huiqi.htm?site=6” is a query string: the sentence holding it (and its 4份) stays whole."""
    text = "请登录平台(网址http://a.cn/huiqi.htm?site=6),提交后须打印纸质件4份。真的吗?是!"
    assert split_sentences(text) == ["请登录平台(网址http://a.cn/huiqi.htm?site=6),提交后须打印纸质件4份。", "真的吗?", "是!"]


def test_markers_and_facts() -> None:
    assert normalise_markers("见【1】和[2, 3]及［4］") == "见[1]和[2][3]及[4]"
    found = facts("1. 给予2 万元奖励[1]，比例30%，截至2024年5月30日，文号浙政办发[2023]63号，共1,200家")
    assert found == ["2万元", "30%", "2024年5月30日", "文号浙政办发〔2023〕63号", "1200家"]
    assert supported(found[3], compact("见浙政办发〔2023〕63号")) and not supported(found[3], compact("浙政办发〔2023〕64号"))


def test_verify_renumbers_drops_and_flags() -> None:
    text = "奖励2万元[3]，另有出口保险[1]与[9]；截止2024年5月30日[3]，补贴3万元[1]。"
    v = verify(text, clauses())
    assert v.dropped == (9,)
    assert v.text == "奖励2万元[1]，另有出口保险[2]与；截止2024年5月30日[1]，补贴3万元[2]。"
    assert [c.chunk.chunk_id for c in v.citations] == ["c1", "a1"]
    # 2万元 is in a cited clause (a1); the deadline is only in b1, which is not cited; 3万元 is nowhere
    assert v.unsupported == ("2024年5月30日", "3万元")
    assert v.citations[1].quote == "对个体工商户转型为企业的，给予2万元一次性奖励。"


def _cit(chunk: Chunk) -> Citation:
    return Citation(1, chunk, 1.0)


def test_validity_flags_expired_and_not_yet_in_force() -> None:
    a = CHUNKS[0]
    assert validity_lines([_cit(a)], date(2025, 1, 1)) == ("该措施有效期至2027年12月31日（《" + a.title + "》）。",)
    expired = validity_lines([_cit(a)], date(2028, 3, 1))
    assert "已失效" in expired[0] and "2027年12月31日" in expired[0]
    future = Chunk("f", "docF", "某措施", (), "自2026年1月1日起施行。", "x.txt", 0, 10, valid_from="2026-01-01")
    assert "尚未生效" in validity_lines([_cit(future)], date(2025, 6, 1))[0]
    assert validity_lines([_cit(future)], date(2026, 6, 1)) == ("《某措施》自2026年1月1日起施行。",)
    assert validity_lines([_cit(CHUNKS[2])], date(2025, 1, 1)) == ()


def test_extractive_answer_quotes_verbatim_and_cites() -> None:
    answerer = Answerer(ListRetriever(CHUNKS), BigramEmbedder(), Config(), today=lambda: date(2025, 1, 1), model=ANSWERS)
    answer = answerer.ask(QUESTION)
    assert answer.backend == "extractive" and answer.extractive and not answer.refused
    assert answer.text.startswith(EXTRACT_LABEL)
    # the best unit is short (< answer.min_quote_chars), so the next unit of its clause follows it
    assert "“对个体工商户转型为企业的，给予2万元一次性奖励。奖励资金由县级财政承担。”[1]" in answer.text
    assert answer.citations[0].chunk.chunk_id == "a1"
    for c in answer.citations:
        assert c.quote and c.quote in c.chunk.text and f"“{c.quote}”[{c.n}]" in answer.text  # adjacent: verbatim
    assert answer.unsupported == () and answer.dropped_citations == ()
    assert answer.validity and "score" in answer.timings


def test_non_adjacent_sentences_are_quoted_with_a_gap_mark() -> None:
    clause = Clause(1, CHUNKS[0], 1.0)
    units = [Scored(clause, 2, "丙。", 0.9, 0.9, 0.9, True, 0.0), Scored(clause, 0, "甲。", 0.85, 0.8, 0.8, True, 0.0)]
    ex = quote(units)
    assert ex.quotes == {1: "甲。" + GAP + "丙。"}
    assert ex.text == EXTRACT_LABEL + "\n“甲。……丙。”[1]"
    assert answer_units("须同时满足以下条件:1.在境内注册;2.职工不超过500人。末尾引导语:") == [
        "须同时满足以下条件:1.在境内注册;", "2.职工不超过500人。"]
    # a closing lead-in with clauses of its own states a rule (what holding one of the items it introduces does)
    rule = "符合上述条件的企业,若同时符合下列条件中的一项,不受综合评价所得分值高低限制:"
    assert answer_units("(二)直通车条件\n" + rule) == ["(二)直通车条件", rule]


def test_a_unit_citing_the_notice_a_question_names_better_than_the_record_does() -> None:
    question = "杭州打造全国专精特新名城的实施意见文号是多少？"
    cites = "根据《杭州市人民政府办公厅关于打造全国专精特新名城的实施意见》(杭政办函〔2023〕81号)等文件精神"
    assert cites_named(question, cites, "关于支持信息服务业稳进提质的实施意见")
    assert not cites_named(question, cites, "杭州市人民政府办公厅关于打造全国专精特新名城的实施意见")
    assert not cites_named(question, "鼓励各地出台激励举措。", "关于支持信息服务业稳进提质的实施意见")


def test_an_attachment_line_repeating_the_title_is_a_title() -> None:
    title = "浙江省人民政府办公厅关于支持个体工商户转型升级为企业工作的实施意见"
    assert is_title("附件:" + title, title) and is_title("附件2：" + title, title)
    assert not is_title("附件:申报汇总表", title)


def test_an_attachments_file_name_is_never_the_answer() -> None:
    """“…拟认定名单.pdf” names a file (its year is no date); a sentence that mentions a file still states things."""
    assert is_file_name("2023 年度省级未来工厂、智能工厂(数字化车间)拟认定名单.pdf")
    assert is_file_name("附件2：申报汇总表.xlsx")
    assert not is_file_name("请下载申报表.docx,填写后于5月30日前上传。")
    answer = Answerer(ListRetriever([Chunk("f1", "docF", "关于未来工厂认定名单的公示", ("附件",),
                                           "2023 年度省级未来工厂拟认定名单.pdf\n公示时间为2024年1月11日至1月18日。",
                                           "000.txt", 0, 60, ordinal=0)]),
                      BigramEmbedder(), Config(), model=fixed_model(0.9)).ask("2023年省级未来工厂名单公示期是哪几天？")
    assert "1月18日" in answer.text and ".pdf" not in answer.text, answer.text


def test_a_lowered_threshold_is_quoted_after_the_rule_it_lowers() -> None:
    """“门槛多少？专精特新的有没有降？”: the unit lowering the threshold for 专精特新 scores best, and alone it reads as
    the rule; the rule it lowers (the same 实际投资额…, a figure in 万) is quoted before it, not a unit merely sharing
    the words."""
    clause = Clause(1, CHUNKS[0], 1.0)
    lowered = Scored(clause, 3, "3.经认定为省级“专精特新”的制造业企业,实际投资额(设备、外购技术、软件投入)申报门槛降低至500万(含);",
                     0.66, 0.9, 0.4, True, 0.0)
    checks = Scored(Clause(2, CHUNKS[0], 0.5), 5, "各地要严格审核已完成三项合计投资额(设备、外购技术、软件投入)等指标,共3项。",
                    0.2, 0.5, 0.1, True, 0.0)
    rule = Scored(clause, 1, "2018年1月1日以后开工的实际投资额(设备、外购技术、软件投入)1000万元(含)以上的项目。",
                  0.57, 0.85, 0.3, True, 0.0)
    cfg = Config().answer
    chosen = choose([lowered, checks, rule], read_intent("我们是专精特新企业，技改门槛降到多少？"), cfg)
    assert [s.index for s in chosen][:2] == [1, 3]
    assert 5 not in [s.index for s in choose([lowered, checks], read_intent("门槛降到多少？"), cfg)]


def test_an_overlong_best_unit_gives_way_to_a_close_one_that_fits() -> None:
    """A notice's preamble (one 300-character sentence) scoring a hair above the sentence that answers is not
    the quote: the close unit that fits the answer budget is."""
    clause = Clause(1, CHUNKS[0], 1.0)
    preamble = "根据有关要求" + "经企业申报、地方推荐、审核公示，" * 20 + "现予公布。"
    units = [Scored(clause, 0, preamble, 0.593, 0.92, 0.26, True, 0.0),
             Scored(clause, 1, "请在收到资金文件30日内将资金拨付到相关企业。", 0.590, 0.91, 0.26, True, 0.0)]
    cfg = Config().answer
    assert len(preamble) > cfg.answer_chars
    assert [u.index for u in choose(units, read_intent("收到钱以后多久要拨到企业？"), cfg)] == [1]
    far = [units[0], Scored(clause, 1, units[1].sentence, 0.593 - 2 * cfg.keep_margin, 0.8, 0.1, True, 0.0)]
    # not close: the preamble is kept, and the unit of its clause stating the length asked follows it
    assert [u.index for u in choose(far, read_intent("收到钱以后多久要拨到企业？"), cfg)] == [0, 1]
    assert [u.index for u in choose(far, read_intent("资金拨付的文件叫什么？"), cfg)] == [0]  # no kind asked: kept alone


def test_an_overlong_unit_is_quoted_from_where_it_states_the_fact_asked() -> None:
    """A preamble that states the count only past the answer budget is quoted from that phrase on, …… marking the
    cut; one stating it early, or asked nothing it states, is quoted whole."""
    clause = Clause(1, CHUNKS[0], 1.0)
    preamble = "为贯彻落实有关意见," + "引导集群聚焦重大战略需求," * 16 + "现将天津市滨海新区海洋工程装备产业集群等 46 家集群确定为创新型产业集群,纳入评价管理工作体系。"
    cfg = Config().answer
    assert len(preamble) > cfg.answer_chars
    units = [Scored(clause, 0, preamble, 0.6, 0.9, 0.3, True, 0.0)]
    [quoted] = choose(units, read_intent("2022年创新型产业集群总共几家？"), cfg)
    assert quoted.sentence == GAP + "现将天津市滨海新区海洋工程装备产业集群等 46 家集群确定为创新型产业集群,纳入评价管理工作体系。"
    assert quoted.sentence.removeprefix(GAP) in preamble
    assert choose(units, read_intent("这批集群是依据什么认定的？"), cfg)[0].sentence == preamble
    # a row's serial number before a city (“1 天津市…”) is no count of days
    assert not states("1 天津市滨海新区海洋工程装备创新型产业集群 滨海新区科技局", "number") and states("公示期 5 天", "number")


def test_the_signing_line_answers_nothing() -> None:
    """“科技部火炬中心” above the date signs the notice: sharing the question's words naming the issuer, it still
    states no count, so the sentence that does is quoted."""
    chunk = Chunk("s1", "docS", "关于公布2022年创新型产业集群的通知", (), "现将 46 家集群确定为创新型产业集群。\n科技部火炬中心\n2023 年 2 月 17 日",
                  "001.txt", 0, 60, issuer="科技部火炬中心")
    answer = Answerer(ListRetriever([chunk]), BigramEmbedder(), Config(), model=fixed_model(0.9)).ask(
        "科技部火炬中心2022年认定的创新型产业集群一共多少个？")
    assert "46 家" in answer.text and "“科技部火炬中心”" not in answer.text, answer.text


def test_not_found_names_nearest_documents_and_shows_their_clauses() -> None:
    answer = Answerer(ListRetriever(CHUNKS), BigramEmbedder(), Config(), model=fixed_model(0.1)).ask("上海市人才落户积分怎么算？")
    assert answer.refused and answer.outcome == "not_found"
    assert answer.text.startswith("根据现有文件，未找到与“上海市人才落户积分怎么算”相关的规定。")
    assert "《" + CHUNKS[0].title + "》" in answer.text
    assert [c.chunk.chunk_id for c in answer.citations] == ["a1", "b1", "c1"] and answer.validity == ()


def test_not_stated_says_what_is_missing_and_quotes_the_nearest_clause() -> None:
    """Coverage of the question in the top documents is high, so a refusal is not_stated, with a verbatim quote."""
    answer = Answerer(ListRetriever(CHUNKS), BigramEmbedder(), Config(), model=fixed_model(0.4)).ask(
        "个体工商户转型为企业的一次性奖励在宁波是多少钱？")
    assert answer.refused and answer.outcome == "not_stated"
    assert "具体金额或比例" in answer.text and "宁波" in answer.text
    yes_no = Answerer(ListRetriever(CHUNKS), BigramEmbedder(), Config(), model=fixed_model(0.4)).ask(
        "个体工商户转型为企业，宁波有没有一次性奖励？")
    assert yes_no.outcome == "not_stated" and "的明确规定" in yes_no.text, yes_no.text  # not “的所问的内容”
    quoted = answer.citations[0]
    assert quoted.quote in quoted.chunk.text and f"“{quoted.quote}”[1]" in answer.text


def test_intent_reads_what_is_asked() -> None:
    money = read_intent("杭州的算力券一年最多能给一家企业补多少钱？")
    assert money.fact_kinds == ("grant",) and money.places == ("杭州",)
    meta = read_intent("浙江软件业那份2022年统计公报，是哪几个部门一起发的，文号多少？")
    assert set(meta.meta) == {"issuer", "docno"} and meta.fact_kinds == () and meta.years == ("2022",)
    # a department or a validity only asked of the notice itself: not a contact, not a condition stated
    assert read_intent("名单是哪个部门公示的？").meta == ("issuer",) and read_intent("有意见可以找哪些部门？").meta == ()
    assert read_intent("是哪个部门、哪天发的？").meta == ("issuer", "issued") and read_intent("哪个文件印发的？").meta == ("docno",)
    assert read_intent("促进外贸回稳向好的若干意见是哪年哪个文?").meta == ("docno", "issued")  # 哪个文 is a 文号
    assert read_intent("到哪年为止？").meta == () and read_intent("哪个文章说的？").meta == ()
    assert read_intent("是几个部门一起发的?").meta == ("issuer",) and read_intent("这批一共几家企业公示了？").meta == ()
    assert read_intent("一共认定了多少个？哪天公布的？").meta == ("issued",)
    # a rough number said (十几年, 好几家) asks nothing; “几年” does
    assert read_intent("招牌用了十几年了，字号还能接着用吗？").fact_kinds == () and read_intent("要几年？").fact_kinds
    assert read_intent("欠了好几家银行的钱，方案里有什么说法？").fact_kinds == ()
    assert read_intent("有效期多长？").meta == ("valid",) and read_intent("证书还在有效期，还看得分吗？").meta == ()
    assert read_intent("有有效期内的高企证书，还用看分吗？").fact_kinds == ()  # a condition stated, no date asked
    assert read_intent("手上有张没过期的高企证书，还要看分数吗？").meta == ()  # nor does a certificate 没过期
    assert read_intent("这个证书什么时候过期？").meta == ("valid",)
    assert read_intent("纸质材料要打几份？").fact_kinds == ("number",) and states("须打印纸质件4份并盖章", "number")
    # “支持多少个市县” counts, it asks no sum; “资格能管几年” asks a length, which a count does not give
    assert read_intent("省里支持多少个市县开展试点？").fact_kinds == ("number",)
    assert read_intent("这个资格能管几年？").fact_kinds == ("duration",)
    # “想咨询入库标准” asks the standard, not where to ask; “咨询电话多少” asks a contact
    assert "contact" not in read_intent("哪个部门牵头的？我们想咨询入库标准。").kinds
    assert "contact" in read_intent("咨询电话是多少？").kinds and "contact" in read_intent("有问题找谁咨询？").kinds
    assert read_intent("每年什么时候开始申请？").fact_kinds == ("day",)  # “每年” said: only a day answers
    assert not states("AA 级守合同重信用企业公示不满两个年度的,需要在系统中提交说明", "date")  # a length, no date
    # whether a notice was sent to a place is asked of its addressee line; “发到哪个邮箱” names no place: a contact
    assert read_intent("这份通知有没有发到宁波？").fact_kinds == ("addressee",)
    assert "addressee" not in read_intent("材料发到哪个邮箱？").kinds
    assert states("各市、县(市、区)经信局、财政局(宁波不发):", "addressee") and not states("拨付到相关企业。", "addressee")
    assert states("本年度内完成", "date") and states("2023年度", "date")
    # the record answers a question asking only its fields, a “when” only of issue or effect
    assert record_answers(read_intent("这个守重的通知是哪个部门发的，什么时候？"))
    assert record_answers(read_intent("那这个方案从哪天开始施行的？文号是？"))
    assert not record_answers(read_intent("守合同重信用企业公示的申报系统什么时候开放？"))
    assert not record_answers(read_intent("这个实施意见的文号是多少？到2025年要建多少个？"))
    assert "procedure" in read_intent("高企在网上从哪里报？").kinds and "contact" in read_intent("入口怎么找？").kinds
    # where online to apply asks a contact: “网上” is how it asks, no word the answering clause must use
    assert "contact" in read_intent("高企在网上从哪里报？").kinds and "网上" not in without_field_asks("高企在网上从哪里报？")
    # “能直接打电话提异议吗” asks whether a phone call will do, not for a number; “该打哪个电话” asks one
    assert "contact" not in read_intent("我想直接打电话提异议，行不行？").kinds and "contact" in read_intent("该打哪个电话？").kinds
    assert "contact" not in read_intent("我有异议，打个电话说一下行不行？").kinds
    assert read_intent("省里和杭州都提到算力券，两边说法有什么不一样？").compare  # 不一样 / 两边 / 都提到 compare
    assert read_intent("那份实施意见是谁盖的章？").meta == ("issuer",) == read_intent("落款盖的谁的章？").meta
    # a district is a place asked; where the asker says they are is not; a word holding a place's name is no place
    assert read_intent("鄞州区有没有类似杭州的算力券？").places == ("鄞州",) and read_intent("沿海口岸哪年建成？").places == ()
    assert read_intent("我们是衢州的企业，能申请首批次保费补贴吗？").places == ()
    # a score asked (多少分) is stated by a figure in 分 only, not by a date or a count
    assert read_intent("网上测评分基准线是多少分？").fact_kinds == ("score",) and states("所得分值不低于 60 分", "score")
    assert not states("【申报时间 4 月 15 日截止】", "score") and not states("30分钟内", "score")
    # a count by any measure word asks a number (几栋, 几台), and a figure counted by it states one
    assert read_intent("首批数字楼宇一共评上了几栋？").fact_kinds == ("number",) and states("共确定12栋数字楼宇", "number")
    # “按什么标准给…奖励” asks the amount paid, as “奖多少” does
    assert read_intent("省里按什么标准给中介奖励？").fact_kinds == ("grant",)
    # money named after 多少 by its purpose (多少专项资金) asks an amount: a count or a year does not state it
    assert read_intent("入选以后，国家给集群多少专项资金？").fact_kinds == ("money",)
    # the signature line (落款) names the issuer and the date
    assert read_intent("它的文号是多少？落款是谁？").meta == ("issuer", "docno") and read_intent("落款日期是哪天？").meta == ("issued",)
    assert asked_term("'415X'到底是哪几块？") == "415x" and asked_term("‘一转四创’指什么？") == "一转四创"  # any quotes
    assert asked_term("老听人说315，315里的3和15到底指啥？") == "315"  # a name of digits alone, …
    # “在哪个网站报” asks a web address: a URL states it, a platform's name does not
    assert read_intent("科小评价在哪个网站报？").fact_kinds == ("web",) and "web" not in read_intent("在网站上公示了吗？").kinds
    # a month asked: “每年” does not state one; a telephone asked: a platform to log into does not give one
    assert read_intent("一般几月份开放申请？").fact_kinds == ("month",) and not states("每年“算力券”总额提升至2.5亿元", "month")
    assert states("于 6 月、9 月分别安排第一轮评审", "month") and read_intent("几月几号截止？").fact_kinds == ("day",)
    assert not states("“一月一链”中小企业融资促进全国行活动", "month") and states("每年十二月底前报送", "month")  # a name
    assert read_intent("有没有咨询电话或者联系人？").fact_kinds == ("phone",) and states("电话85257139、85257152", "phone")
    assert not states("登录“科学技术部政务服务平台”,点击“办理入口”", "phone") and read_intent("能不能打电话提异议？").fact_kinds == ()
    assert states("(https://fuwu.most.gov.cn),选择…", "web") and not states("登录科学技术部政务服务平台", "web")
    assert asked_term("2023是什么？") is None and asked_term("补贴500万元是什么意思？") is None  # … not a year or an amount
    assert len(read_intent("外资研发中心落户杭州的话，杭州市里还有没有额外的配套奖励？").parts) == 1  # 还有没有 starts no part
    assert len(read_intent("申报截止是哪天？还有，要交几份材料？").parts) == 2
    # a follow-up made standalone: the topic it is about is no part of what its first part asks
    assert read_intent("关于个转企要不要先注销，原来的字号还能用吗？场地证明还要交吗？").parts == ("原来的字号还能用吗", "场地证明还要交吗")
    assert "list" in read_intent("追溯体系主要管哪几类？").kinds and not read_intent("主要管哪几类？").fact_kinds
    assert read_intent("高企认定要什么条件？另外补贴多少钱？").parts == ("高企认定要什么条件", "补贴多少钱")
    assert read_intent("小区里装电梯补多少？").places == ()  # 小区 is no place
    assert read_intent("宁波有没有类似杭州的算力券？").places == ("宁波",)  # 杭州 is only the model of a likeness
    assert read_intent("有没有类似杭州的算力券？").places == ("杭州",)
    assert read_intent("杭州和宁波的算力券比一比？").compare and read_intent("两地补贴分别多少？").compare
    assert not read_intent("软件和信息服务收入多少？比上年涨了多少？").compare  # a growth rate, not a comparison
    assert read_intent("每个项目政府能补多少钱？").fact_kinds == ("grant",)  # money the government pays
    assert read_intent("省里给不给运营补助？一年多少？").fact_kinds == ("grant",)  # how much a year of a payment named
    assert "list" in read_intent("具体是哪五个部门？").kinds and "list" in read_intent("能打哪两个电话？").kinds
    assert not states("对符合条件的按其近三年累计研发投入的5%给予奖励", "date") and states("三个月内完成", "date")
    # a yes/no on a share the asker puts is answered only by a clause stating a share
    assert rate_put("加计扣除能按100%扣吗？", read_intent("加计扣除能按100%扣吗？")) == ("percent",)
    assert rate_put("土地分一半卖给别人，能分割转让吗？", read_intent("土地分一半卖给别人，能分割转让吗？")) == ()
    assert read_intent("每个园区能拿多少激励资金？").fact_kinds == ("grant",)  # “32个园区” states a count, not a grant
    assert "grant" in read_intent("省里的奖励标准怎么算？").fact_kinds  # a rule for the amount: “给予奖励” states none
    # a code asked is no quantity: “GB/T 36073-2018” answers “标准号多少” though it states no count
    assert read_intent("里面让推广的DCMM是什么标准？标准号多少？").fact_kinds == ()
    assert "number" not in read_intent("对这个名单有异议的话，该找谁？电话多少？").kinds  # a phone asked, not a count
    assert "percent" in read_intent("2024年浙江的GDP增长目标定的是多少？").kinds  # a growth asked is a rate
    assert not states("明确经济发展、科技创新等8个方面的主要目标。", "percent")
    assert read_intent("标准有多少项？").fact_kinds == ("number",) and read_intent("文号多少？").meta == ("docno",)
    assert not states("支持有条件的地方对春节后提前开工复工的工业企业给予奖励。", "grant")
    # a figure the question itself says is no answer to it; a year is not such a figure
    counted = read_intent("2023年拟认定的这213个里面，真正的未来工厂有几家？")
    assert counted.said == ("213",) and not states("拟认定…等213 个工厂/车间项目", "number", counted.said)
    assert states("其中未来工厂21个", "number", counted.said) and states("共213个", "number")
    assert read_intent("软件收入多少钱？").fact_kinds == ("money",) and "procedure" not in read_intent("新材料补多少？").kinds
    assert states("按设备投资额的10%给予补助", "grant") and not states("直接拉动技改投资500亿元以上", "grant")
    # the amount must stand by the word of paying: a project's size is not its reward
    assert not states("在10亿元以上项目清单中筛选一批标志性项目,建立市领导联系机制,对提前开工项目给予“赛马”激励", "grant")
    assert read_intent("要培育多少家民营跨国公司和领航企业？").several and not read_intent("要培育多少家企业？").several
    assert states("宁波\t284\t1134", "number") and not states("年度\t2016年\t2017年", "number")  # table cells
    # a name in 《》 states nothing: the year of a form's title is no deadline
    assert not states("并形成《2024年杭州市“未来工厂”培育企业汇总表》,正式行文上报。", "date")
    assert states("每年只能选择以下三种方向中的一种申报评定", "number")  # “一年能报几个方向”
    assert states("截止时间为2024年5月30日,详见《2024年申报指南》", "date")
    # a day asked (几号/哪几天): a month or a day states it; a year, or the 号 of a 文号, does not
    assert read_intent("公示期是哪几天？").fact_kinds == ("day",) and read_intent("几号截止？").fact_kinds == ("day",)
    assert read_intent("什么时候截止？").fact_kinds == ("date",) and read_intent("文号是几号文？").fact_kinds == ()
    assert states("公示时间为2024年1月5日至1月12日", "day") and not states("2023年度浙江省知识产权信息公共服务网点", "day")
    assert not states("根据《实施意见》(杭政办函〔2023〕81号)等文件精神", "day") and states("10个工作日内", "day")
    # when acceptance starts is a day: “每年…总额” states how often, not from when
    assert read_intent("什么时候开始受理？").fact_kinds == ("day",)
    assert not states("每年“算力券”总额提升至2.5亿元", "day") and states("每年“算力券”总额提升至2.5亿元", "date")
    # a share asked: only a share answers it (not 5000万元), unless another part asks for an amount too
    share = read_intent("保费补贴按保费的百分之多少给？")
    assert share.fact_kinds == ("grant_rate",) and read_intent("保费能补贴多少比例？").fact_kinds == ("grant_rate",)
    assert read_intent("算力券一年总共发多少？能补合同费用的几成？").fact_kinds == ("grant", "grant_rate")
    assert read_intent("占全省比重多少？").fact_kinds == ("percent",)
    assert states("按不超过算力合同费用的30%给予", "percent") and states("减免三成", "percent")
    # a share paid (“按多少比例补助”) is stated by a share beside a word of paying, not by a coverage rate
    assert read_intent("设备投资按多少比例补助？").fact_kinds == ("grant_rate",)
    assert read_intent("奖励有没有最低比例？").fact_kinds == ("grant_rate",)
    assert read_intent("数字化改造覆盖率要达到百分之多少？").fact_kinds == ("percent",)
    assert states("按设备投资额的10%给予补助", "grant_rate") and not states("数字化改造覆盖率达到80%以上", "grant_rate")
    assert not states("单个品种的保险金额不低于 5000 万元", "percent") and not states("形成合力", "percent")
    # a figure the notice leaves open (“一定比例”) answers no 多少, unless the kind asked is stated beside it
    rate = read_intent("按上年研发费用的百分之几奖？")
    assert leaves_open("对研发费用年增长20%以上的企业,按上年度研发费用的一定比例给予财政奖励。", rate)
    assert not leaves_open("按一定比例给予奖励,最高按10%给予补助。", rate) and not leaves_open("给予一定补助。", read_intent("找谁申请？"))
    reward = read_intent("首次认定国家专精特新“小巨人”的企业奖励多少钱？")
    assert leaves_open("对首次认定的国家专精特新“小巨人”企业,按有关政策给予奖励。", reward)  # paid, amount elsewhere
    assert read_intent("什么样的企业可以按上年度研发费用的一定比例给予财政奖励？").fact_kinds == ()  # said, not asked
    # the question repeats the open phrase: it asks the open figure, which the qualifying 3% does not give
    said = "文件说按上年度研发费用的“一定比例”给企业奖励，这个比例到底是多少？"
    sentence = "对研发费用占营业收入比重 3%以上的企业,按上年度研发费用的一定比例给予财政奖励。"
    assert leaves_open(sentence, read_intent(said), said) and not leaves_open(sentence, read_intent(said))
    # a follow-up made standalone (“关于<topic>，…”): what is asked is read after the topic
    follow = read_intent("关于杭州算力券能补比例，一家企业一年最多能领多少算力券？")
    assert follow.fact_kinds == ("grant",) and read_intent("关于那个意见，文号多少？").meta == ("docno",)


def test_each_thing_asked_about_with_fen_bie_is_a_part() -> None:
    """“A和B分别/各自…”: one part per thing named, read back to 的/里 and up to 在/的 (or across one comma)."""
    assert read_intent("信息服务业区域布局里，宁波和嘉兴各自主攻什么方向？").parts == (
        "信息服务业区域布局里,宁波各自主攻什么方向", "信息服务业区域布局里,嘉兴各自主攻什么方向")
    assert read_intent("宁波、温州、嘉兴在信息服务业上各自主攻什么方向？").parts == (
        "宁波在信息服务业上各自主攻什么方向", "温州在信息服务业上各自主攻什么方向", "嘉兴在信息服务业上各自主攻什么方向")
    assert read_intent("特种设备追溯和危险品追溯，文件里分别以哪些东西为重点？").parts == (
        "特种设备追溯,文件里分别以哪些东西为重点", "危险品追溯,文件里分别以哪些东西为重点")
    assert read_intent("纳入培育库的民营跨国公司和领航企业分别要到多少家？").parts == (
        "纳入培育库的民营跨国公司分别要到多少家", "纳入培育库的领航企业分别要到多少家")
    assert read_intent("两地补贴分别多少？").parts == ("两地补贴分别多少",)  # nothing enumerated
    assert len(read_intent("杭州和宁波的算力券补多少？").parts) == 1  # no 分别/各自: one question about both


def test_what_a_question_sets_aside_is_not_asked() -> None:
    """“除了高企证书，还有哪些…”: 高企证书 neither scores units nor makes a part; 免除 is no 除了."""
    q = "除了高企证书，还有哪些情况也能直接走直通车？"
    assert read_intent(q).parts == ("哪些情况也能直接走直通车",) and "证书" not in question_bigrams(q)
    assert "免除" in question_bigrams("免除契税，还能减免啥？")


def test_a_name_asked_to_be_explained_and_the_text_that_defines_it() -> None:
    assert read_intent("老听人说“一转四创”,到底指哪几块？").explains == "一转四创"
    assert read_intent("415X分别代表啥？").explains == "415x"  # folded, as the texts it is matched against
    assert read_intent("“算力券”一年最多补多少？").explains is None  # a name, but no explaining asked
    assert read_intent("高企是什么条件？").explains is None  # no quoted or alphanumeric name
    assert read_intent("“专精特新”企业是什么条件？").explains is None  # asks a condition, not what the name means
    assert read_intent("“415X”里面那4支专项基金是哪几个方向？").explains is None  # a list inside it, not its meaning
    assert read_intent("让企业贯标的DCMM，全称是什么标准？").explains == "dcmm"  # an acronym, its full name asked
    assert read_intent("“415X”具体是哪几块？").explains == "415x"  # nothing but what the name is made of
    assert read_intent("“一转四创”具体是哪“一转”和哪“四创”？").explains == "一转四创"  # its pieces asked
    assert read_intent("第2批名单公示了吗？").batches == ("第二批", "第2批")  # a round, as notices may write it
    assert read_intent("首批次保费补贴怎么报？").batches == ()  # a product's first use, not a round
    assert read_intent("“一月一链”融资对接活动是哪几个部委一起搞的？").meta == ("issuer",)  # 对接 names the activity
    assert "contact" not in read_intent("守重的申报系统什么时候开？").kinds  # a system named, a date asked
    assert states("支持企业依托“浙食链”平台,纵向整合供应链信息", "contact")  # the platform to use, named
    assert not states("建设工业互联网平台", "contact")  # a platform built
    assert states("“未来工厂”培育企业:产业数字化推进处,电话:85257096", "contact")  # a local number after 电话
    assert states("2023 年全省出访招商团组不少于200 组", "number")
    assert states("容积率宜高则高,一般不低于1.5", "number")  # a ratio has no unit
    assert not states("达到2025年", "number")  # a year reached is no figure
    assert "valid" in read_intent("那它从哪天开始算数？").meta  # 算数: in force
    assert read_intent("我们公司21年、22年两年都是亏的，还能报吗？").years == ("2021", "2022")  # years as people shorten them
    assert read_intent("工作满10年以上的可以吗？").years == ()  # a length, not a year
    # a length of time asked: a year does not state it (“这个称号管几年？” of “在公示的 2021 年浙江省 AAA 级…企业”)
    assert "duration" in read_intent("评上AAA守合同重信用企业以后，这个称号管几年？").fact_kinds
    assert "duration" not in read_intent("省里个转企几年要做到什么程度？").kinds  # by when: a year answers
    assert not states("在公示的 2021 年浙江省 AAA 级“守合同重信用”企业。", "duration")
    assert states("公示期为 5 个工作日", "duration") and states("有效期三年", "duration")
    # where to take an objection: the unit sending people to a department answers it, a phone number alone does not
    assert read_intent("公示几号截止？有问题找哪个单位？").fact_kinds[-1] == "whom"
    assert states("向省社会保险和就业服务中心就业管理处反映公示对象存在的问题。", "whom")
    assert not states("联系方式:0571-85108829、85108832(传真)", "whom")
    assert "contact" in read_intent("在哪个网站报？").kinds and "contact" in read_intent("具体怎么进系统？").kinds
    # a platform to use states where to go; one to be built (“重大科创平台”) does not
    assert states("企业须登录浙江政务服务网(网址:https://…)申报", "contact") and states("登录“守合同重信用企业公示申报系统”填报", "contact")
    assert not states("设立50亿元科技创新母基金,以支持重大科创平台成果转化为重点", "contact")
    assert "issuer" not in read_intent("这事是哪个部门牵头发的？").meta  # who does the work, not who signed
    assert "首批" in read_intent("第一批数字楼宇名单谁公示的？").batches  # “首批示范型数字经济产业园…名单的公示”
    assert read_intent("AI企业能补多少？").explains is None  # two letters: a word, not an acronym to explain
    assert defines("推广《数据管理能力成熟度评估模型》(GB/T 36073-2018,简称DCMM)国家标准", "dcmm")
    assert defines("四个轮子(统称“一转四创”),系统谋划", "一转四创")
    assert defines("由4个世界级先进产业群…构成的“415X”先进制造业集群体系", "415x")
    assert not defines("推进“415X”先进制造业集群建设", "415x")  # uses the name, does not define it
    assert defines("着力构建“315”(“互联网+”、生命健康、新材料三大科创高地,云计算与未来网络等15大战略领域)科技创新体系", "315")
    assert not defines("“415X”先进制造业集群(以下简称集群)", "415x") and not defines("“315”(2023)", "315")  # too short


def test_places_and_years_asked_are_looked_for_in_the_documents_not_in_their_doc_number() -> None:
    bulletin = [Chunk("y1", "docY", "2022年浙江省软件和信息服务业发展统计公报", ("一、",), "2022年,全省软件业务收入9152.9亿元。",
                      "x.txt", 0, 20, doc_number="浙经信软件〔2023〕289号")]
    assert unmentioned(read_intent("2023年的软件业务收入是多少？").years, [bulletin])  # 〔2023〕 dates the filing only
    assert not unmentioned(read_intent("2022年的软件业务收入是多少？").years, [bulletin])  # the title names it
    assert not unmentioned(read_intent("2027年和2022年各是多少？").years, [bulletin])  # one of the years is there
    assert not unmentioned(read_intent("软件业务收入是多少？").years, [bulletin])  # no year asked
    measures = [Chunk("p1", "docP", "杭州市支持人工智能全产业链的若干措施", ("(一)",), "给予不超过50万元的一次性奖励。", "x.txt", 0, 20),
                Chunk("p2", "docP", "杭州市支持人工智能全产业链的若干措施", ("(九)",), "与余杭区政策不重复享受。", "x.txt", 20, 40)]
    assert unmentioned(read_intent("那宁波有没有类似的模型备案奖励？").places, [measures])
    assert not unmentioned(read_intent("杭州的模型备案奖励多少？").places, [measures])  # the title names it
    assert not unmentioned(read_intent("余杭的企业能拿吗？").places, [measures])  # another clause of the document names it
    national = [Chunk("n1", "docN", "关于公布2022年创新型产业集群的通知", (), "各有关省、自治区、直辖市及计划单列市科技厅(委、局):",
                      "x.txt", 0, 30)]
    assert not unmentioned(read_intent("全国一共认了多少家？").places, [national])  # sent to every province
    assert unmentioned(read_intent("全国一共认了多少家？").places, [measures])  # a city's measures
    assert not unmentioned(read_intent("宁波和杭州的奖励分别是多少？").places, [measures, bulletin])  # one place is there


def test_a_notice_validity_is_its_own_not_a_certificate_it_names() -> None:
    """“有效期内高新技术企业资格证书” is a certificate's validity: the 科小 notice states none of its own."""
    cert = Chunk("v1", "docV", "科小评价通知", ("(二)",), "1.企业拥有有效期内高新技术企业资格证书;", "x.txt", 0, 20)
    closing = Chunk("v2", "docV", "科小评价通知", (), "本通知自2023年5月1日起施行。", "x.txt", 20, 40)
    assert validity_unit([cert]) is None and validity_unit([closing, cert]) == (closing, "本通知自2023年5月1日起施行。")


def test_answerability_model_fits_thresholds_and_round_trips(tmp_path) -> None:
    rng = __import__("numpy").random.default_rng(0)
    rows, ok, nf = [], [], []
    for i in range(200):
        good = i % 5 != 0
        rows.append({f: float(rng.normal(1.0 if good else 0.0, 0.5)) for f in FEATURES})
        ok.append(good)
        nf.append(not good and i % 10 == 0)
        if nf[-1]:  # nothing relevant found: little of the question in the top documents
            rows[-1]["doc_coverage"] -= 1.0
    model = fit(rows, ok, nf, max_false_refusal=0.05)
    p = [model.probability(r) for r in rows]
    assert auc(p, ok) > 0.9
    labelled = [model.assess(r).outcome for r, g in zip(rows, ok) if not g and model.probability(r) < model.answer_above]
    assert labelled.count("not_found") and labelled.count("not_stated")
    unanswerable = [(r, f) for r, g, f in zip(rows, ok, nf) if not g]
    assert auc([model.not_found_probability(r) for r, _ in unanswerable], [f for _, f in unanswerable]) > 0.8
    refused_good = sum(q < model.answer_above for q, g in zip(p, ok) if g) / sum(ok)
    assert refused_good <= 0.05 and model.llm_floor <= model.answer_above
    path = tmp_path / "m.json"
    path.write_text(model.to_json())
    assert AnswerabilityModel.load(path) == model and AnswerabilityModel.load(path).digest == model.digest
    path.write_text("{}")
    with pytest.raises(ValueError, match="refit with"):
        AnswerabilityModel.load(path)


def test_rule_based_follow_up_keeps_the_previous_topic() -> None:
    assert is_follow_up("那申报截止时间呢？") and is_follow_up("它的有效期到什么时候？") and is_follow_up("条件呢")
    assert not is_follow_up("个体工商户转型升级为企业有哪些支持政策？")
    assert is_follow_up("亩均方面呢？亩均税收和亩均增加值要到多少？")  # a short opening clause in 呢 leaves the topic out
    assert is_follow_up("这里面浙江有哪几个集群上榜？") and is_follow_up("这批一共拟认定多少个？")  # 这里面, 这批 point back
    assert opens_as_follow_up("里面推广的数据管理能力评估国家标准是哪个？") and is_follow_up("嘉兴在里面是个什么定位？")
    assert read_intent("国家标准是哪个？").fact_kinds == () and "number" in read_intent("补贴标准是多少？").kinds  # which, not how many
    assert opens_as_follow_up("这事是哪个部门牵头的？") and opens_as_follow_up("那申报截止时间呢？")
    assert is_follow_up("个转企那个实施意见文号多少？") and not opens_as_follow_up("个转企那个实施意见文号多少？")
    # “还有，…” says only that another question comes: what follows decides
    assert not opens_as_follow_up("还有,我们手上有些专利拿到好几年了一直没转化,满两年和满三年分别会怎么处理?")
    assert opens_as_follow_up("另外，那申报截止是哪天？") and opens_as_follow_up("还有，截止是哪天？")
    assert not is_follow_up("《关于支持信息服务业稳进提质的实施意见》是谁印发的？文号呢？落款盖的谁的章？")
    history = [("国家科技型中小企业评价的申报条件是什么？", "…")]
    assert condense_heuristic("那申报截止时间呢？", history) == "关于国家科技型中小企业评价，申报截止时间？"
    assert condense_heuristic("人工智能产业有哪些支持？", history) == "人工智能产业有哪些支持？"
    chained = history + [("那申报截止时间呢？", "…")]
    assert condense_heuristic("它在哪里申报？", chained) == "关于国家科技型中小企业评价，在哪里申报？"


def test_the_topic_of_a_long_question_is_the_clause_naming_a_notice() -> None:
    """“我们厂想…，按国家服务型制造那个指导意见，土地用途要不要变更？”: the asker's situation is no topic; the notice is."""
    asked = "我们厂想用自己的工业用地开个售后服务中心，搞生产性服务业，按国家服务型制造那个指导意见，土地用途要不要变更？"
    assert topic(asked) == "国家服务型制造那个指导意见"
    assert topic("那个意见，文号多少、哪天发的？") == "那个意见"
    # an objection (有意见) names no notice: the subject stays the list asked about
    assert topic("省里评的第一批数字楼宇，名单是谁公示的？有意见的话找谁反映？") == "省里评的第一批数字楼宇"


def test_the_topic_is_what_is_named_not_only_where_or_when_nor_who_asks() -> None:
    """“杭州的算力券一年发多少？”: the place before the 的 is no subject, the 算力券 after it is; what the asker wants
    (“想在浙江设研发中心”) is part of the subject, who the asker is (“我们是外资企业”) and a filler (“顺便问下”) are not."""
    assert topic("杭州的算力券一年总共发多少？") == "杭州的算力券"
    assert topic("2023年的稳岗返还和一次性扩岗补助截止到什么时候？") == "2023年的稳岗返还和一次性扩岗补助"
    assert topic("省里支持个转企的那个实施意见文号是多少？") == "省里支持个转企"  # a subject before the 的: as before
    assert topic("我们是外资企业,想在浙江设研发中心,省里的一次性奖励怎么算?").startswith("想在浙江设研发中心 省里的一次性奖励")
    assert topic("顺便问下，国家科小评价2023年度申报截止是哪天？").startswith("国家科小评价2023年度")
    # what the asker applied for is the subject (“我们厂报了…”); the topic holds no comma, which ends “关于<topic>，”
    reported = topic("我们厂报了2023年省级未来工厂/智能工厂,听说名单在公示了,公示到哪天截止?")
    assert reported.startswith("报了2023年省级未来工厂") and "，" not in reported and "," not in reported


def test_a_question_naming_its_notice_needs_no_conversation() -> None:
    """A 这份/这个 in front of a notice named in the asker's own words points at that notice."""
    assert names_notice("这份成果转化的文件文号是多少？哪天发的？")
    assert names_notice("这个守重的通知是哪个部门发的，什么时候？")
    assert not names_notice("那个意见，文号多少、哪天发的？")  # the kind alone names nothing
    assert not names_notice("省里那个通知文号多少？")  # nor where it came from
    assert not names_notice("这个试点是依据哪个文件搞的？")  # the notice is asked, not named
    assert not names_notice("那创新联合体计划组建多少家？")  # 计划 as a verb
    assert not names_notice("有意见的话找谁反映？")  # an objection
    assert not names_notice("这套措施从什么时候开始执行,管到哪年?")  # 这套 points like 这个
    assert condense_heuristic("这套措施管到哪年?", [("杭州的算力券一年总共发多少？", "")]) == "关于杭州的算力券，管到哪年？"


def test_any_question_can_be_read_as_a_follow_up_of_the_conversation_topic() -> None:
    """What a question that finds nothing alone is asked again as: the topic prefixed, its place swapped in."""
    history = [("国家科技型中小企业评价的申报条件是什么？", "…")]
    assert as_follow_up("在哪个平台报？", history) == "关于国家科技型中小企业评价，在哪个平台报？"
    assert as_follow_up("宁波有没有类似的券？", [("杭州算力券一年最多补多少？", "…")]) == "关于宁波算力券一年最多补，宁波有没有类似的券？"
    assert as_follow_up("对名单有意见打哪个电话？", []) is None


def test_follow_up_naming_only_another_place_or_year_asks_the_previous_question_again() -> None:
    history = [("杭州每年要新增多少家高企？", "344家。")]
    assert condense_heuristic("那宁波呢？", history) == "宁波每年要新增多少家高企？"
    assert condense_heuristic("温州那边呢？", history + [("那宁波呢？", "…")]) == "温州每年要新增多少家高企？"
    assert condense_heuristic("那2024年呢？", [("2023年稳岗返还截止到什么时候？", "…")]) == "2024年稳岗返还截止到什么时候？"
    # the topic rule, with the follow-up's place/year replacing the topic's (else the question names both)
    assert condense_heuristic("那宁波的研发投入呢？", history) == "关于宁波每年要新增家高企，宁波的研发投入？"
    assert condense_heuristic("那2024年那一轮截止日期定了吗？", [("科小评价2023年啥时候截止？", "…")]).startswith("关于科小评价2024年")
    # a leading phrase that asks nothing is the topic; the 文号 asked after it is not carried over
    asked = [("工信部那个工业大数据的指导意见,文号多少、哪天发的?", "工信部信发〔2020〕67号")]
    assert condense_heuristic("它里面提到的DCMM是个啥?", asked) == "关于工信部那个工业大数据的指导意见，里面提到的DCMM是个啥？"
    assert topic("我们做跨境电商的,那份稳外贸的意见里要在多少个县市试点?") != "我们做跨境电商的"  # the asker, not the topic
    # what a later clause asks is no part of the topic, and the topic asks nothing of its own: “那它从哪天开始施行？”
    # after a 文号 question asks the validity, not the 文号 again
    assert topic("省里支持个转企的那个实施意见文号是多少？哪个部门发的？") == "省里支持个转企"
    issued = [("省里支持个转企的那个实施意见文号是多少？哪个部门发的？", "浙政办发〔2023〕63号")]
    later = condense_heuristic("那它从哪天开始施行？", issued)
    assert later == "关于省里支持个转企，它从哪天开始施行？" and not asks_doc_number(later) and asks_validity(later)
    assert asks_doc_number("它的文号是多少？")


def test_extractive_follow_up_retrieves_with_the_resolved_question() -> None:
    retriever = ListRetriever(CHUNKS)
    answer = Answerer(retriever, BigramEmbedder(), Config(), model=ANSWERS).ask(
        "那奖励多少呢？", history=[("个体工商户转型为企业的支持政策有哪些？", "…")]
    )
    assert retriever.queries == ["关于个体工商户转型为企业，奖励多少？"]
    assert answer.standalone_question == retriever.queries[0] and "2万元" in answer.text


def test_prompts_load_from_any_cwd_and_llm_is_optional(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "[1]" in load_prompt("answer_system", "prompts") and "{history}" in load_prompt("condense", "prompts")
    assert make_chat_model(LLMConfig()) is None
    cfg = LLMConfig(base_url="http://127.0.0.1:9/v1", model="qwen")
    assert backend_name(cfg, make_chat_model(cfg)) == "openai:qwen@127.0.0.1:9"


def test_extractive_stream_is_the_final_text() -> None:
    items = list(Answerer(ListRetriever(CHUNKS), BigramEmbedder(), Config(), model=ANSWERS).stream(QUESTION))
    assert "".join(items[:-1]) == items[-1].text and len(items) > 2


def test_empty_question_is_answered_not_raised() -> None:
    answer = Answerer(ListRetriever(CHUNKS), BigramEmbedder(), Config()).ask("  ")
    assert answer.refused and answer.text == "请输入问题。"


def test_one_question_limit_applies_to_retrieval_scoring_and_prompt() -> None:
    """A 30,000-character question is cut once, with a note; undecodable characters do not raise."""
    retriever = ListRetriever(CHUNKS)
    cfg = Config()
    long = "个体工商户转型为企业有什么奖励？" * 2000 + "\udcff"
    answer = Answerer(retriever, BigramEmbedder(), cfg, model=ANSWERS).ask(long)
    limit = cfg.retrieve.max_query_chars
    assert len(retriever.queries[0]) == limit and len(answer.standalone_question) == limit
    assert sum("已截取" in n for n in answer.notes) == 1 and answer.timings["total"] < 5
    assert Answerer(retriever, BigramEmbedder(), cfg, model=ANSWERS).ask("算力券\udcff补贴？").question


def test_title_words_name_the_document_not_the_answer() -> None:
    """A notice's header repeats its title: those words count for every unit of it alike, so a question that
    names the document and asks one thing in it (“那个意见里DCMM是啥”) is matched by the unit stating that thing."""
    import numpy as np

    from rag.intent import question_bigrams
    from rag.sentences import unit_matches

    title = "工业和信息化部关于工业大数据发展的指导意见"
    chunk = Chunk("h1", "docH", title, (), f"{title}各有关单位:现提出如下意见。推广DCMM国家标准,引导企业提升数据管理能力。",
                  "000.txt", 0, 60)
    matches = unit_matches(question_bigrams(f"{title}里提到的DCMM是个啥"), np.zeros(4), chunk, np.zeros((2, 4)))
    header, dcmm = matches
    assert "DCMM" in dcmm.text and dcmm.lexical > header.lexical


def test_a_follow_ups_topic_words_count_less_than_what_it_asks() -> None:
    """“关于<topic>，…” (a follow-up made standalone): the topic's words found the notice; in the word match they count
    ``topic_weight`` each, so the unit stating what the rest asks (费率) gains on the one repeating the topic."""
    import numpy as np

    from rag.intent import question_bigrams, topic_bigrams
    from rag.sentences import unit_matches

    question = "关于2023年稳岗返还和扩岗补助的受理截止时间，今年失业保险费率还降吗？"
    topic = topic_bigrams(question)
    assert "返还" in topic and "费率" not in topic and topic_bigrams("失业保险费率还降吗？") == frozenset()
    chunk = Chunk("s1", "docS", "春节稳工稳产通知", ("四、",), "将2023年稳岗返还、扩岗补助受理截止时间延长至2024年3月31日。"
                  "2024年继续实施阶段性降低失业保险费率至1%政策。", "000.txt", 0, 80)
    wanted = question_bigrams(question)
    extension, rate = unit_matches(wanted, np.zeros(4), chunk, np.zeros((2, 4)))  # every word alike: the topic wins
    assert "费率" in rate.text and rate.lexical < extension.lexical
    weighted_extension, weighted_rate = unit_matches(wanted, np.zeros(4), chunk, np.zeros((2, 4)), topic=topic,
                                                     topic_weight=0.5)
    assert weighted_rate.lexical > rate.lexical and weighted_extension.lexical < extension.lexical
    assert weighted_extension.lexical - weighted_rate.lexical < extension.lexical - rate.lexical


def test_a_unit_using_the_documents_word_holds_the_everyday_word_asked() -> None:
    """“高企” asked, “高新技术企业” written: with the colloquial table's entry the unit that uses the document's word
    holds the asker's bigrams; without it only the unit repeating the everyday word would."""
    import numpy as np

    from rag.intent import question_bigrams
    from rag.retrieve import Colloquial
    from rag.sentences import unit_matches

    chunk = Chunk("h2", "docH", "某通知", (), "企业登录系统后填报。高新技术企业通过业务入口自主申报。", "000.txt", 0, 30)
    question = "高企在哪儿报？"
    aliases = Colloquial.load().aliases(question)
    assert aliases and aliases[0][0] == "高企"
    plain = unit_matches(question_bigrams(question), np.zeros(4), chunk, np.zeros((2, 4)))
    matched = unit_matches(question_bigrams(question), np.zeros(4), chunk, np.zeros((2, 4)), aliases)
    assert plain[1].lexical == 0.0 and matched[1].lexical > matched[0].lexical


def test_a_term_the_corpus_never_uses_answered_by_a_sibling_term_is_caught() -> None:
    """个人所得税 (weight 0: no clause uses it) asked, 企业所得税 stated: a sibling, not the thing asked."""
    weights = {"个体户": 3.1, "经营所得": 0.0, "个人所得税": 0.0}
    assert sibling_term(weights, "认定为高新技术企业的,减按15%税率征收企业所得税。") == "个人所得税"
    assert sibling_term(weights, "个人所得税按规定减半征收。") is None  # the term itself is there
    assert sibling_term({"企业所得税": 2.0}, "征收企业所得税") is None  # a word the corpus uses is no sibling
    assert sibling_term({"外资企业": 0.0}, "外商投资企业") is None  # too short a term to tell a sibling from a synonym


def test_a_modifier_the_corpus_never_uses_before_a_word_it_uses_with_another_is_caught() -> None:
    """工伤 (weight 0) modifies 保险费率, which the clause has after 失业: another insurance, not the one asked.
    jieba's real dictionary says what is a noun and how rare it is."""
    words = PolicyTokenizer()
    ask = "今年浙江工伤保险费率有没有下调？"
    weights = {"浙江": 1.2, "工伤": 0.0, "保险费率": 3.0, "下调": 0.0}
    said = "2024年继续实施阶段性降低失业保险费率至1%政策。"
    assert sibling_modifier(ask, weights, said, words.rarity, words.nominal) == "工伤保险费率"
    assert sibling_modifier(ask, weights, "工伤保险费率下调。", words.rarity, words.nominal) is None  # stated itself
    assert sibling_modifier(ask, weights, "保险费率降至1%。", words.rarity, words.nominal) is None  # nothing before it
    # a verb no clause uses (下调) modifies nothing; nor does a common word (整理 is too frequent to be a term)
    assert sibling_modifier("费率有没有下调保险费率", weights, said, words.rarity, words.nominal) is None
    assert sibling_modifier("帮客户整理材料", {"整理": 0.0, "材料": 2.0}, "申报材料", words.rarity, words.nominal) is None
    # the same modifier reworded (期间 for 时间段: they share a character) is no sibling
    reworded = {"保单": 5.5, "时间段": 0.0, "投保": 5.2}
    stated = "于 2022 年 1 月 1 日至 2022 年 12月 31 日期间投保重点新材料首批次应用综合保险的企业"
    assert sibling_modifier("保单得是什么时间段投保的才算？", reworded, stated, words.rarity, words.nominal) is None


def test_a_record_question_names_its_notice_by_kind() -> None:
    """“国家层面那份指导意见的文号” asks the 指导意见's record, not that of the 实施意见 citing it and ranked first."""
    def clause(n: int, doc: str, title: str) -> Clause:
        return Clause(n, Chunk(f"{doc}1", doc, title, (), "落实工信部等15部门的指导意见。", "004.txt", 0, 10), 1.0)

    local = clause(1, "local", "关于深入推进服务型制造促进制造业高质量发展的实施意见")
    national = clause(2, "national", "关于进一步促进服务型制造发展的指导意见")
    assert named_record("关于国家层面关于服务型制造的那份指导意见，文号是多少？", [local, national]) is national
    assert named_record("服务型制造的实施意见文号是多少？", [local, national]) is local
    assert named_record("服务型制造那份文件文号是多少？", [local, national]) is local  # no kind named: the first hit


def test_a_figure_asked_per_recipient_is_not_stated_by_a_total() -> None:
    """“一家企业最多能用多少” is not answered by how much is issued in all; a cap or a per-unit figure answers it."""
    q = "一转四创里说的创新券，一家企业最多能用多少？"
    assert per_recipient_unstated(q, read_intent(q), "新增发放创新券1.5亿元、使用额1.5亿元,服务企业10000家次。")
    assert not per_recipient_unstated(q, read_intent(q), "单家企业每年“算力券”申领不超过800万元。")
    yearly = "十四五期间浙江财政科技投入每年要增长多少？"  # per year, not per recipient
    assert not per_recipient_unstated(yearly, read_intent(yearly), "财政科技投入年均增长15%以上。")
    # a size per fund (每支基金) or a programme's name (单项冠军) is no figure per project
    project = "单个项目最多投多少？"
    assert per_recipient_unstated(project, read_intent(project), "设立1 支“专精特新”母基金,每支基金规模不低于 100 亿元")
    assert per_recipient_unstated(project, read_intent(project), "力争每年新增制造业单项冠军企业20 家")
    assert not per_recipient_unstated(project, read_intent(project), "对每个项目给予不超过500万元的补助")


def test_the_province_asked_as_a_level_of_government() -> None:
    assert asks_province("省里那个AI意见有没有提什么券能用？") and asks_province("省级层面有没有提到发算力券？")
    assert asks_province("浙江省里有没有算力券？")  # the province itself named
    assert not asks_province("杭州的算力券省里有没有配套？")  # a city named: its notice may answer
    assert not asks_province("我们是省级专精特新，门槛能降吗？")  # 省级 of a status, not who decides


def test_a_plan_target_is_no_threshold_to_qualify() -> None:
    """“进培育库有什么门槛” of “到2025年…纳入培育库的…累计达到300家以上”: a target, not what one must have."""
    target = "到 2025 年,我省民营跨国公司总量持续扩大,纳入培育库的民营跨国公司累计达到 300 家以上。"
    assert target_for_threshold("那进这个培育库有什么门槛？营收要达到多少？", target)
    assert not target_for_threshold("到2025年入库企业要达到多少家？", target)  # the target asked
    assert not target_for_threshold("技改项目投资门槛多少？", "实际投资额1000万元(含)以上的项目。")  # a threshold stated


def test_a_rule_for_another_grade_does_not_answer() -> None:
    """四星 asked, a rule for 五星 stated: not stated; a question naming both grades is answered by either."""
    five = "对年度绩效评价结果为五星的,延续给予每年 1 亿元省财政资金补助。"
    assert other_grade("省实验室年度绩效评价拿到四星的，每年补多少？", five)
    assert not other_grade("省实验室评了五星，每年补多少？", five)
    assert other_grade("评上AAA级守合同重信用企业，有没有奖金？", "浙江省 AA 级守合同重信用企业公示不满两个年度的")
    assert not other_grade("我们AA级公示不满两年，报AAA要提交啥证明？", "浙江省 AA 级守合同重信用企业公示不满两个年度的")
    assert not other_grade("有没有奖金？", five)  # no grade asked


def test_a_status_the_applicants_already_hold_is_not_how_to_get_it() -> None:
    """“申报省级专精特新要什么条件” of a rule for those already 认定为 专精特新: not its conditions; the same words
    as the programme a clause's own conditions are for, or as the status a question says it holds, do answer."""
    weights = {"申报": 1.8, "省级": 2.1, "专精": 3.8, "特新": 3.8, "门槛": 6.0}
    rule = "3.经认定为国家级专精特新“小巨人”或省级“专精特新”的制造业企业,且2024年1月27日以后开工的项目,申报门槛降低至500万(含);"
    assert only_as_status("我们公司想申报省级专精特新，营收门槛是多少？", weights, rule)
    assert only_as_status("专精特新“小巨人”的申报条件是什么?", weights, rule)
    assert not only_as_status("专精特新企业报技改，门槛会不会低一点？", weights, rule)  # 专精特新 is who applies
    own = "申报省级专精特新中小企业,营业收入不低于1000万元。"
    assert not only_as_status("我们公司想申报省级专精特新，营收门槛是多少？", weights, own)


def test_the_askers_office_is_who_asks() -> None:
    """“我们街道…”: the 街道 is where a civil servant works, no word an answering clause must share."""
    assert asker_offices("我们街道有不少个体户想转公司，要先注销吗？") == {"街道"}
    assert asker_offices("咱们局能不能直接受理？") == {"局"}
    assert not asker_offices("街道办能受理个转企吗？")


def test_a_notice_named_by_another_year_is_another_round() -> None:
    """“2023年…第一批工信项目” of the 2024 round's notice: not stated, though its text names 2023 elsewhere."""
    title = "关于组织开展2024年第一批杭州市工信领域项目申报工作的通知"
    assert other_edition("2023年杭州第一批工信项目申报是几号截止的？", title)
    assert not other_edition("2024年第一批杭州工信项目，企业最晚哪天报？", title)
    assert not other_edition("2023年以后开工的项目能报杭州第一批工信项目吗？", title)  # the year dates no notice words
    assert not other_edition("2016年省里那个去杠杆的行动方案从哪天施行？", "浙江省供给侧结构性改革去杠杆行动方案(2016—2017年)")
    # a year beyond a table's series of years is not in it; one within it, or a text of two years, says nothing
    header = "年度\t2016年\t\t2017年\t\t2018年\t\t2019年\t\t2020年"
    assert outside_series(("2021",), header) and not outside_series(("2019",), header)
    assert not outside_series(("2021",), "2023 年和 2024 年") and not outside_series((), header)
    # what the asker did that year (“2022年投保了…”) names no notice
    insurance = "省经信厅 省财政厅 浙江银保监局关于开展国家2023年重点新材料首批次应用保险补偿机制试点工作的通知"
    assert not other_edition("我们2022年投保了重点新材料首批次应用保险，能申请补贴吗？", insurance)
    assert other_edition("2022年重点新材料首批次应用保险补偿试点是哪天截止的？", insurance)
    # a share returned (“按…的百分之几返”) is a rate paid: a premium rate (“费率至1%”) does not state it
    assert "grant_rate" in read_intent("稳岗返还是按去年缴的失业保险费的百分之几返？").fact_kinds
    assert not other_edition("2023年杭州第一批工信项目几号截止？", "杭州市工信领域项目申报工作的通知")  # no year in the title


def test_a_question_naming_two_notices_by_kind_is_divided_at_each_kind() -> None:
    """Each notice is named by the words just before its kind, in the same clause: not the issuer every title has."""
    q = "2016年8月10日省政府办公厅同一天发了去杠杆方案和重要产品追溯的实施意见，两份分别从哪天开始执行？"
    assert notice_names(q) == [("同一天发了去杠杆", "方案"), ("和重要产品追溯的", "实施意见")]
    assert notice_names("湖州十百千万2023年工作计划的文号是多少？") == []  # one notice: named_record decides
    plan, notice = "浙江省供给侧结构性改革去杠杆行动方案(2016—2017年)", "关于印发浙江省供给侧结构性改革去杠杆行动方案的通知"
    assert title_match("同一天发了去杠杆", "方案", plan) > title_match("同一天发了去杠杆", "方案", notice) > 0
    assert title_match("和那份", "意见", "关于加快人工智能产业发展的指导意见") == 0  # the kind alone names nothing


def test_two_records_merge_under_one_label_and_a_shared_clause_keeps_both_units() -> None:
    one = Extract(f"{EXTRACT_LABEL}\n文件：《甲》\n文号：甲〔2016〕1号[1]", {1: "甲〔2016〕1号"})
    two = Extract(f"{EXTRACT_LABEL}\n文件：《乙》\n文号：乙〔2016〕2号[1]", {1: "乙〔2016〕2号"})
    merged = merge_extracts([one, two])
    assert merged.text.count(EXTRACT_LABEL) == 1 and "《甲》" in merged.text and "《乙》" in merged.text
    assert merged.quotes == {1: f"甲〔2016〕1号{GAP}乙〔2016〕2号"}
