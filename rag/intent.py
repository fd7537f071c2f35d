"""What a question asks for, read from its wording alone: the kind of fact, its parts, its qualifiers.

Used by the answer stage (which unit answers, whether the clauses state it at all, a 文号/发文机关
question answered from the document record) and by the follow-up rewrite (“那宁波呢？”); retrieval
takes only :func:`question_bigrams`, :func:`asks_doc_number`, :func:`asks_validity`, :func:`asked_term` and
:func:`defines` from here.

Why a separate step: whether a clause *answers* a question depends far less on how the
question is worded than on whether the clause states the kind of thing asked (an amount
for “补多少钱”, a date for “啥时候截止”, a 文号 for “几号文”) about the place and year the
question names.  Those signals survive paraphrase; bigram overlap does not.  The patterns
cover how people ask (colloquial forms included), not any one document's wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.sentences import bigrams
from rag.textnorm import cn_int, cn_numeral, compact, fold

QUESTION_WORDS = re.compile(
    r"请问|是什么|有哪些|哪些|什么|多少|几个|几家|几项|第几|如何|怎么样|怎样|怎么|是否|有没有|有无|吗|呢|吧|哪个|哪里|哪|啥|咋"
)
# A count the asker puts to the list they want (“哪四个”, “分几类”, “一家企业”): the shape of the question, not a term of it.
COUNT_WORD = re.compile(r"[几两一二三四五六七八九十百千万]+[个项类种条家批步块件次份位名样点]")

# Kinds of fact a question can ask for.  ``money`` and ``number`` and ``date`` are checked
# against the candidate sentence (does it state one?); the ``meta`` kinds are answered from
# the document record (title, 文号, issuer, dates) rather than from a body sentence.
_ASKS: dict[str, re.Pattern[str]] = {
    # (“支持多少个市县” counts places: a classifier after 多少 asks a number)
    "money": re.compile(r"多少钱|金额|几[万千百]|(?:奖励|补助|补贴|资助|奖补|支持|补|给|发|贴息|扶持)(?:了)?多少(?!个|家|项|名|人|次|户|所|条|批|类)|"
                        r"多少(?:专项|财政|扶持|配套)?(?:资金|经费|补贴|奖励|补助|钱)|最多(?:能)?(?:给|补|拿|领|申请)|上限|封顶"),
    # money the government pays (补/奖/资助多少): a figure of investment or revenue does not answer it
    "grant": re.compile(r"(?:补|奖|资助|扶持|配套|贴息|给|发|拿|领)(?:了|给)?(?:多少(?!个|家|项|名|人|次|户|所|条|批|类)|几[万千百]|啥标准)|"
                        r"(?:按|以)(?:什么|啥|哪个|怎样的)标准(?:给|发|补|奖|计)|"
                        r"(?:补贴|补助|奖励|奖金|资助|奖补|扶持资金|配套资金|补偿)(?:的)?(?:标准|金额|额度)?(?:是|有|能有|能给)?多少|"
                        r"(?:最多|最高)(?:能)?(?:给|补|拿|领|奖)|"
                        r"(?:补贴|补助|奖励|奖金|资助|奖补|贴息|补偿)(?:的)?(?:标准)?(?:怎么|如何)(?:算|计算|定)|"
                        # “这个补贴一年多少？”, “给不给运营补助？一年多少？”: how much per year or per head of it
                        r"(?:补贴|补助|奖励|奖金|资助|奖补|补偿)[？?]?(?:一年|每年|一家|每家|每个|一个|每人|一人)(?:能|可以)?(?:给|拿|补|发)?"
                        r"多少(?!个|家|项|名|人|次|户|所|条|批|类)"),
    # a share asked (百分之多少/几成/占比): a count or an amount in yuan does not answer it
    "percent": re.compile(r"百分之|百分比|百分点|比例|占比|比重|几成|(?:费|税|利|增长|覆盖|普及)率(?:是|为|要|能|降到|达到)?多少|"
                          r"(?:增速|增幅|增长目标)[^，,？?。]{0,6}(?:多少|几)"),  # a growth asked is a rate
    # a rate of payment (“按多少比例补助”, “补贴比例”): a share stated beside a word of paying answers it
    "grant_rate": re.compile(r"(?:比例|百分之|几成|百分比)[^，,？?。]{0,3}(?:补|奖|资助|贴|给|返)|"
                             r"(?:补|奖|资助|贴|返还)[^，,？?。]{0,6}(?:比例|百分之|几成|百分比)"),
    "number": re.compile(r"多少|(?<!哪)几[个家项年天批类名人次倍条件万千百份栋幢座台套户位支只辆]|比例|百分之|几成|多大|上限|最高|最多|至少|不低于|不少于|"
                         r"标准是(?!哪|什么|啥)|目标是|排第几|第几"),
    "date": re.compile(r"什么时候|啥时候|何时|哪天|哪一天|哪几天|几月|几号(?!文)|日期|截止|期限|有效期(?=是|为|有|到|多|几)|多久|多长时间|"
                       r"哪年|几年|到哪年|"
                       r"什么时间|啥时间"),
    # a length of time asked (“称号管几年”, “公示期多长”): a year (“2021 年”) or a day does not answer it
    # (“几年要做到什么程度” asks by when: a year answers it)
    # a score asked (“网上测评分基准线是多少分”): a count or a date does not answer it
    "score": re.compile(r"(?:多少|几)分(?![钟之别类批期])"),
    "duration": re.compile(r"(?:管|有效|过|满|放|用|持续|延续|保留|能用)几年|几年(?:有效|以后|之后|后)|多少年|多长时间|多长|期限多|"
                           r"有效期(?:是|为|有)?(?:多|几)"),
    # a day asked (“几号截止”, “公示期是哪几天”): a year alone (“2023年度…名单”) does not answer it
    "day": re.compile(r"几号(?!文)|哪天|哪一天|哪几天|几月几[日号]|截止日期|截至日期|(?:什么时候|啥时候|何时)(?:开始|起)(?:受理|申报|申领|申请|报名|接受)"),
    # a month asked (“一般几月份开放申请”): “每年” or a year alone does not state it
    "month": re.compile(r"几月(?!几[日号])|哪个?月"),
    "list": re.compile(r"哪些|哪几|哪[两二三四五六七八九十](?:个|家|项|类|种|条|批|方面|部门)|有啥|都有什么|包括什么|包括哪|包含|列一下|几类|几种|几方面|几项|都有谁|都是谁"),
    "yes_no": re.compile(r"能不能|可不可以|可以吗|能否|是否|行不行|算不算|有没有|是不是|会不会|要不要|需不需要|还能|吗[？?]?$"),
    "procedure": re.compile(r"怎么申请|怎么申报|如何申报|如何申请|怎么报|去哪|向谁|找谁|流程|步骤|程序|(?<!新)材料|怎么办|怎么弄|怎么操作|"
                            r"[在从]哪(?:里|儿)?(?:报|申请|申报|提交)|提交什么|走什么"),
    # the stages of a procedure (“要过几道关”, “从申报到公示是什么流程”): a section naming them answers, step by step
    "steps": re.compile(r"流程|环节|步骤|哪几步|几步|几道|程序|走法"),
    "condition": re.compile(r"条件|要求|门槛|够不够|符合|资格|够格|哪些企业|什么企业|什么样的|谁可以|能享受|适用"),
    # a website asked, not one named (“申报系统什么时候开” asks a date)
    # “咨询” asks where only with a where/whom beside it (“我们想咨询入库标准” asks the standard)
    "contact": re.compile(r"(?<!打)(?<!打个)(?<!打一个)电话|联系|咨询(?=电话|方式|热线|哪|谁|部门|单位|窗口)|(?:谁|哪)[^，,？?。]{0,4}咨询|热线|邮箱|地址(?![没不未]?有?变)|寄到|寄哪|送到哪|交到哪|网址|"
                          r"(?:哪个?|什么|啥|[进登上]|登录|登陆)(?:网站|平台|系统|入口)|(?:网站|平台|系统|入口)(?:在哪|是啥|是什么|是哪|叫什么|怎么[进找])|"
                          r"(?:网上|线上)(?:从|在|去)?(?:哪里?|哪儿|怎么)(?:报|申报|申请|办|提交)"),  # where online to apply
    # a telephone or a person to call asked (“有没有咨询电话或者联系人”): a platform to log into does not give one
    "phone": re.compile(r"(?<!打)(?<!打个)(?<!打一个)电话|热线|联系人"),
    # a web address asked (“在哪个网站报”, “网址多少”): a URL states it, a platform's name (“…政务服务平台”) does not
    "web": re.compile(r"(?:哪个|什么|啥|哪)(?:网站|网页|链接|官网)|网址|(?:网站|网页|链接|官网)(?:是|在|叫)?(?:哪|什么|啥|多少)"),
    # where to take an objection or a question (“有问题找哪个单位”): a department the text sends people to
    "whom": re.compile(r"找谁|向谁|跟谁|找哪[个家]?(?:单位|部门|处室?|科室|机构)|向哪[个家]?(?:单位|部门|处室?)|哪个处"),
    # whether a notice was sent to a place (“发到宁波了吗”, “宁波这边也发了吗”): its addressee line answers
    "addressee": re.compile(r"发到|发给|下发到|(?:也|有没有|是不是|是否)(?:下)?发了?(?:吗|没)|发没发"),
    "in_charge": re.compile(r"(?:哪个|哪些|哪几个|什么)(?:部门|单位|机构)(?:来)?(?:负责|牵头|主管|管|抓|落实)|"
                            r"谁(?:来)?(?:负责|牵头|管|抓)|(?:负责|牵头)(?:的)?(?:是)?(?:哪|谁)"),
}
_META: dict[str, re.Pattern[str]] = {
    # a department asked about as the notice's author: a verb of issuing follows (“有意见找哪些部门” asks a contact)
    "issuer": re.compile(r"(?:(?:哪个|哪些|哪几个|几个|哪家|几家)(?:部门|单位|机关|部委)|哪几家)[^，,？?。]{0,6}?(?:发|印发|发布|出的|下发|下的|公示|搞|盖章)|"
                         r"谁发|谁印发|谁出的|谁盖的?章|盖的?(?:是)?(?:谁|哪个部门|哪家)的?章|发文(?:单位|机关|部门)|发布(?:单位|机关|部门)|印发(?:单位|机关)|联合(?:发|印发|发布)|公示的|"
                         r"落款(?:是|为|写的是?)?(?:谁|哪|什么单位|什么部门|单位|机关|部门)"),
    "docno": re.compile(r"文号|几号文|什么文|发文字号|哪个文件|哪个文(?![件章])|编号"),
    "issued": re.compile(r"(?:什么时候|啥时候|何时|哪天|哪一天)(?:发|印发|发布|出台|下发|公布)|哪年(?=哪个文|的文|发|印发|出台|下发)|印发(?:日期|时间)|发布(?:日期|时间)|发文(?:日期|时间)|成文|落款(?:日期|时间)"),
    # “有效期多长”, not “证书还在有效期”/“没过期的证书”: the validity asked, not a condition stated
    "valid": re.compile(r"施行|生效|(?:开始|起)算数|有效期(?:是|为|有|到)?(?:多长|多久|几年|多少|到哪|到什么|到几|截止|什么时候|啥时候|至)|"
                        r"执行到|管到|有效到|(?:什么时候|啥时候|哪天|何时)(?:开始|起)?(?:执行|实施)|"
                        r"开始(?:执行|实施)的|实施(?:日期|时间|的日子)|(?<![没未不])过期(?!的)|还有效"),
}
# A place or year named in the question: a clause that never mentions it is about somewhere
# or some time else, however similar the wording (the typical near-miss).
_KNOWN_PLACES = re.compile(
    r"北京|上海|天津|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|广东|广西|福建|安徽|江西|山东|河南|湖北|湖南|四川|贵州|云南|陕西|甘肃|"
    r"海南|内蒙古|新疆|西藏|宁夏|青海|香港|澳门|台湾|浙江|杭州|宁波|温州|嘉兴|湖州|绍兴|金华|衢州|舟山|"
    r"台州|丽水|义乌|嘉善|深圳|苏州|南京|厦门|合肥|武汉|成都|西安|青岛|无锡|余杭|萧山|滨江|西湖区|上城|拱墅|临平|钱塘|富阳|"
    r"临安|桐庐|淳安|建德|海宁|平湖|桐乡|长兴|德清|安吉|南浔|吴兴|慈溪|余姚|乐清|瑞安|诸暨|上虞|柯桥|东阳|永康|兰溪|玉环|"
    r"温岭|临海|龙泉|江山|长三角|全国|"
    # Zhejiang's other districts and counties, and cities elsewhere people compare with
    r"鄞州|海曙|北仑|镇海|奉化|象山|宁海|鹿城|龙湾|瓯海|洞头|永嘉|平阳|苍南|文成县|泰顺|龙港|南湖区|秀洲|海盐|越城|新昌|嵊州|"
    r"婺城|金东区|武义|浦江|磐安|柯城|衢江|常山县|开化县|龙游|定海区|岱山|嵊泗|椒江|黄岩|路桥区|三门县|仙居|莲都|青田|缙云|遂昌|"
    r"松阳|云和县|庆元|景宁|广州|郑州|长沙|济南|福州|昆明|南昌|贵阳|太原|石家庄|哈尔滨|长春|沈阳|大连|南宁|兰州|西宁|"
    r"银川|呼和浩特|乌鲁木齐|拉萨|珠海|佛山|东莞|常州|南通|徐州|扬州|泉州|烟台|潍坊"
)
_APPROXIMATE = re.compile(r"(?<=[十百千万好])几")  # 十几年, 好几家: a rough number, no question (几十万 may ask: 补几十万?)
# a code asked (“标准号多少”, “编号是多少”, “电话多少”) is no quantity: the 多少 goes, the code word stays
_CODE_ASKED = re.compile(r"((?<!文)(?:标准号|编号|代码|号码|电话|手机|邮编))(?:是|为)?多少")
# a figure left open (“按上年度研发费用的一定比例给予奖励”, “给予一定保费补贴”): in a notice it answers no 多少; in a
# question it is said, not asked (“什么样的企业可以按一定比例给予奖励”)
_OPEN_FIGURE = re.compile(r"一定(?:的)?(?:比例|数额|金额|额度|奖励|补助|补贴|资助|保费补贴)|适当(?:奖励|补助|补贴|资助)|"
                          r"按(?:有关|相关)?(?:政策|规定)给予")  # “按有关政策给予奖励”: paid, but how much is elsewhere
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# a year as people shorten it (“23年的稳岗返还”, “21年、22年两年都亏”), not a length (“满10年以上”)
_SHORT_YEAR = re.compile(r"(?<![\d.])(1[5-9]|2\d)\s*(?=年(?!以|内|期|间|来|多|左右|之))")
_SAID_FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_IN_CHARGE = re.compile(r"牵头|负责|主管|责任|协调|对接|受理|审核|承办|落实")
# “和/跟…比” within one clause of the question; “比上年/同比” is a growth rate, not two things compared
_COMPARE = re.compile(r"分别|各自|各是|对比|比较|区别|不同|差别|一样吗|不一样|两边|都提到|都有提|哪[个份]写|哪个(?:多|高|大|早)|相比|"
                      r"[和跟与][^，,。？?；;！!]{1,20}比(?!上年|去年|前年|上一年|往年)")
# “多少家民营跨国公司和领航企业”: one question word, two things counted
_JOINED = re.compile(r"(?:多少|几)[^？?，,。；;]{0,12}[和与及、][^？?，,。；;]{1,12}")
_TOPIC = re.compile(r"^关于[^，,？?。]{1,80}[，,]")
_EXCEPT = re.compile(r"(?:^|(?<=[，,。？?]))除了[^，,？?。]{1,30}[，,]")  # “除了高企证书，…”: what the asker already has is not asked
# a notice named by its kind (“那份指导意见”, “去杠杆行动方案”): what a follow-up's topic is, where a question naming
# two notices divides; “有意见/提意见” is an objection, not a 意见
NOTICE_KIND = re.compile(r"(?:指导|实施|若干)意见|(?<![有提])意见|(?:行动|实施|工作)?(?:方案|计划)|(?:若干)?(?:措施|举措)|(?:管理)?办法|"
                         r"(?:统计)?公报|通知")
# “A和B分别/各自…”, “A、B、C的…各是多少”: each of A, B, C is asked about (one unit each)
_EACH = re.compile(r"分别|各自|各是|各有|各(?=几|多少|定)")
_CONJ = re.compile(r"[和与跟及、]")
_EDGE = re.compile(r"[的里在上对中]")  # what ends the first conjunct's context / the last conjunct's tail
_PART_SPLIT = re.compile(r"[？?]|[；;]|，?(?:另外|还有(?!没)|此外|以及|同时|顺便问一下|顺便问|再问一下|那么)[，,]?")


@dataclass(frozen=True)
class Intent:
    """What a question asks: kinds of fact, document-record fields, its parts and qualifiers."""

    kinds: tuple[str, ...]  # grant | money | percent | number | date | list | yes_no | procedure | condition | …
    meta: tuple[str, ...]  # issuer | docno | issued | valid: answered from the document record
    parts: tuple[str, ...]  # the sub-questions of a multi-part question (one when it is single)
    places: tuple[str, ...]
    years: tuple[str, ...]
    compare: bool  # “分别/对比”: one answer unit from each document named
    several: bool  # more than one figure or date is asked for (“多少家…占比呢”)
    explains: str | None = None  # the name a “415X指什么” question asks to have explained (:func:`asked_term`)
    said: tuple[str, ...] = ()  # figures the question itself states (“这213个里面…有几家”): no answer to it
    batches: tuple[str, ...] = ()  # a round asked (“第二批”), in both numeral forms: a notice on another states none

    @property
    def qualifiers(self) -> tuple[str, ...]:
        return self.places + self.years

    @property
    def fact_kinds(self) -> tuple[str, ...]:
        """The kinds a sentence must state to answer (``money`` implies ``number``, ``grant`` implies ``money``;
        ``percent`` implies ``number``, and in a one-figure question replaces ``money``/``grant``: “补贴多少比例”;
        ``grant_rate``, a share paid, replaces ``percent``)."""
        kinds = tuple(k for k in self.kinds if k in _FACT_PATTERNS or k == "grant_rate")
        if "grant_rate" in kinds:  # the share asked is one paid: it is stated beside a word of paying
            kinds = tuple(k for k in kinds if k != "percent")
        if "web" in kinds or "phone" in kinds:  # a web address / a telephone asked: any other contact does not state it
            kinds = tuple(k for k in kinds if k != "contact")
        if "score" in kinds:  # a score asked: a figure in 分 states it, any other number does not
            kinds = tuple(k for k in kinds if k != "number")
        if "day" in kinds:  # a day asked states its month too
            kinds = tuple(k for k in kinds if k != "month")
        if {"day", "duration", "month"} & set(kinds):  # a day / a length / a month asked: a year alone does not state it
            kinds = tuple(k for k in kinds if k != "date")
        if "grant_rate" in kinds or "percent" in kinds:
            kinds = tuple(k for k in kinds if k != "number" and (len(self.parts) > 1 or k not in ("money", "grant")))
        return tuple(k for k in kinds if not (k == "number" and ("money" in kinds or "grant" in kinds))
                     and not (k == "money" and "grant" in kinds))


def read_intent(question: str) -> Intent:
    """The :class:`Intent` of a (standalone) question."""
    q = _OPEN_FIGURE.sub("某项", _APPROXIMATE.sub("数", fold(question)))  # “用了十几年”, “一定比例”: said, not asked
    q = _CODE_ASKED.sub(r"\1", q)
    asked_in = _TOPIC.sub("", q)  # “关于<topic>，…” (a follow-up made standalone): the topic names, the rest asks
    kinds = tuple(k for k, p in _ASKS.items() if p.search(asked_in))
    meta = tuple(k for k, p in _META.items() if p.search(asked_in))
    if any(_IN_CHARGE.search(re.split(r"[，,？?。；;]", q[m.start():])[0]) for m in _META["issuer"].finditer(q)):
        meta = tuple(m for m in meta if m != "issuer")  # “哪个部门牵头/负责” asks who does the work, not who signed
    if "duration" in kinds and not _ASKS["number"].search(_ASKS["duration"].sub("", asked_in)):
        kinds = tuple(k for k in kinds if k != "number")  # “资格能管几年” asks a length, which a count does not give
    if meta:  # “文号多少”, “哪天印发”: the record answers; no body sentence need state a figure
        kinds = tuple(k for k in kinds if k not in ("date", "day", "number", "money", "grant", "percent"))
    places = _places(without_self_description(q))  # “我们是宁波的企业，…”: where the asker is, not what is asked of
    if not places:  # “材料发到哪个邮箱” asks a contact: a notice is sent to a place
        kinds = tuple(k for k in kinds if k != "addressee")
    dated = _SHORT_YEAR.sub(r"20\1", compact(q))
    years = tuple(dict.fromkeys(_YEAR.findall(dated)))
    parts = tuple(e for p in _PART_SPLIT.split(asked_in) if len(QUESTION_WORDS.sub("", p).strip(" ，,。")) >= 3
                  and not _EXCEPT.fullmatch(p.strip(" ，,。") + "，")  # “除了高企证书，还有哪些…”: not a part
                  for e in _each(p.strip(" ，,。")))
    asked = sum(len(_ASKS[k].findall(q)) for k in ("number", "date", "contact"))
    several = asked >= 2 or len(parts) > 1 or bool(_JOINED.search(q))
    said = tuple(dict.fromkeys(n for n in _SAID_FIGURE.findall(dated) if n not in years))
    return Intent(kinds, meta, parts or (q,), places, years, bool(_COMPARE.search(q)), several, asked_term(q), said,
                  _batches(q))


_BATCH = re.compile(r"第\s*([一二三四五六七八九十]+|\d+)\s*批(?!次)")  # “首批次” is a product's first use, not a round


def _batches(q: str) -> tuple[str, ...]:
    """The rounds a question names (“第二批”), each in every way notices write it (“第二批”, “第2批”; the first
    also “首批”)."""
    numbers = [cn_int(n) for n in _BATCH.findall(q)]
    return tuple(dict.fromkeys(form for n in numbers
                               for form in (f"第{cn_numeral(n)}批", f"第{n}批", *(("首批",) if n == 1 else ()))))


def _each(part: str) -> tuple[str, ...]:
    """“宁波和嘉兴各自主攻什么方向” -> (“宁波各自主攻什么方向”, “嘉兴各自主攻什么方向”); else (part,).

    The conjuncts are read in the phrase before 分别/各自 (or in the phrase before that one: “特种设备追溯和
    危险品追溯，文件里分别…”): the first runs back to 的/里/在…, the last up to them.
    """
    marker = _EACH.search(part)
    if not marker:
        return (part,)
    phrases = re.split(r"[，,]", part[: marker.start()])
    at = next((i for i in (len(phrases) - 1, len(phrases) - 2) if i >= 0 and _CONJ.search(phrases[i])), None)
    if at is None:
        return (part,)
    phrase = phrases[at]
    start = sum(len(p) + 1 for p in phrases[:at])  # where the phrase starts in ``part``
    conj = list(_CONJ.finditer(phrase))
    head = _EDGE.split(phrase[: conj[0].start()])[-1]
    tail = _EDGE.split(phrase[conj[-1].end():])[0]
    items = [head, *(phrase[a.end(): b.start()] for a, b in zip(conj, conj[1:])), tail]
    if not all(1 <= len(i) <= 12 for i in items):
        return (part,)
    span = (start + conj[0].start() - len(head), start + conj[-1].end() + len(tail))
    return tuple(part[: span[0]] + item + part[span[1]:] for item in items)


# “415X分别代表啥”, ““一转四创”到底指哪几块”, “DCMM全称是什么”, “315里的3和15到底指啥”: a name asked to be explained
# (quoted, letters with digits, an acronym of three letters or more, or three or four digits that are not a year)
_TERM = re.compile(r"“([^”]{2,12})”|(?<![A-Za-z0-9])([0-9]+[A-Za-z][A-Za-z0-9]*|[A-Za-z]+[0-9][A-Za-z0-9]*|[a-z]{3,}|"
                   r"(?!(?:19|20)\d\d(?!\d))\d{3,4})(?![A-Za-z0-9.%年月日万亿元个家项])")
# (“是哪几个方向” asks a list of something the name holds, not what the name means)
_EXPLAIN = re.compile(r"指的?是?(?:啥|什么|哪)|代表(?:啥|什么|的是)|(?:什么|啥)意思|含义|全称|全名|是(?:啥|什么)(?=[？?,，。]|$)")


# “““415X”具体是哪几块？”: the name itself is asked what it is made of, which its definition says (“是哪几个方向” after
# more words asks a list of something the name holds)
_PARTS = re.compile(r"(?:具体|到底|都|又|主要)?(?:是|指|包括|包含|分为|分成|有)?(?:哪几|哪些)[块个样类项部分方面种]*(?:组成|构成)?[？?]?")


_WHICH_PIECE = re.compile(r"哪(?:个|些)?“([^”]{1,6})”")
_OTHER_QUOTES = re.compile(r"['‘「『]([^'’」』“”]{2,12})['’」』]")  # '415X', ‘一转’, 「四创」 quote a name as “…” does


def asked_term(question: str) -> str | None:
    """The name a “X指什么/代表啥/是什么意思” question asks to have explained (its first quoted or alphanumeric
    name, when an explaining phrase follows it, or nothing but asking what it is made of), else None."""
    q = _OTHER_QUOTES.sub(r"“\1”", fold(question).replace('"', "“", 1).replace('"', "”", 1))
    m = _TERM.search(q)
    if m is None:
        return None
    term, rest = m.group(1) or m.group(2), q[m.end():]
    pieces = [p for p in _WHICH_PIECE.findall(rest) if p in term]  # “具体是哪“一转”和哪“四创”？”: its pieces asked
    if not (_EXPLAIN.search(q, m.end()) or _PARTS.fullmatch(rest.strip()) or pieces):
        return None
    return term


def defines(text: str, term: str) -> bool:
    """Whether ``text`` defines ``term``: “…构成的“415X”…”, “(统称“一转四创”)”, “X是指…”, or spells it out in
    brackets right after it (“构建“315”(“互联网+”、生命健康、新材料三大科创高地,…15大战略领域)科技创新体系”)."""
    t = re.escape(term)
    return bool(re.search(rf"(?:简称|统称|称为|构成的|即)[“\"]?{t}|{t}[”\"]?(?:是指|指的是|即|\([^()]{{6,}}\))",
                          fold(text)))


_ASKS_DOC_NUMBER = re.compile(r"文号|几号文|发文字号|(?:哪个|哪份|什么)文件(?:印发|发布|下发)")


def asks_doc_number(question: str) -> bool:
    """“文号多少/几号文/哪个文件印发的”: the answer is on a notice's header (a bare “哪个文件” may ask for a title).
    A follow-up's topic (“关于…，”) names what is asked about; it asks nothing."""
    return bool(_ASKS_DOC_NUMBER.search(_TOPIC.sub("", fold(question))))


def without_field_asks(question: str) -> str:
    """``question`` less what it asks of the document record (“文号”, “印发日期”, “什么时候开始施行”) or of a contact
    (“哪个网站”, “电话”): those words name a field, not a term the notice's text uses (it gives a URL, a number)."""
    for pattern in (*_META.values(), _ASKS["contact"]):
        question = pattern.sub(" ", question)
    return question


# the asker describing themselves (“我是小规模纳税人，…”, “我们公司属于个人独资企业”), up to the clause's end
_SELF_DESCRIPTION = re.compile(r"(?:我|我们|本人|咱们?)(?:公司|厂|店|单位|家)?(?:是(?!不是|否)|属于|作为)[^，,。；;？?！!]*")


def without_self_description(question: str) -> str:
    """``question`` less what the asker says of themselves: that names who asks, not what is asked about."""
    return _SELF_DESCRIPTION.sub(" ", fold(question))


# the office a civil servant asks from (“我们街道…”, “我们局…”): who asks, never what is asked about
_ASKER_OFFICE = re.compile(r"(?:我们|咱们?|本)(街道|社区|乡镇|镇|乡|村|局|科室|部门|单位)")


def asker_offices(question: str) -> frozenset[str]:
    """The offices ``question``'s asker speaks for: words no answering clause needs to share."""
    return frozenset(_ASKER_OFFICE.findall(fold(question)))


# the province asked as the level of government (“省里那个AI意见”, “省级层面”), and the places below it
_PROVINCE_LEVEL = re.compile(r"省里|省政府|省级层面|省一级|省这一?级|省这边")
_ABOVE_CITY = frozenset({"浙江", "全国", "长三角"})


def asks_province(question: str) -> bool:
    """Whether ``question`` asks what the province does (省里, 省政府, 省级层面) and names no city or county: a city's
    measures on the same subject (杭州's 算力券) are not the province's (“省里那个AI意见有没有提什么券”)."""
    return bool(_PROVINCE_LEVEL.search(question)) and not set(_places(question)) - _ABOVE_CITY


def asks_validity(question: str) -> bool:
    """“什么时候开始施行/有效期多长/还管用吗”: the answer is the notice's own validity clause."""
    return "valid" in read_intent(question).meta


def record_answers(intent: Intent) -> bool:
    """Whether the document record answers the whole question: no figure is asked, every part asks a field of it, and
    a part asking when asks the notice's date of issue or of effect (“…公示的申报系统什么时候开放” does not)."""
    if intent.fact_kinds:
        return False
    for part in intent.parts:
        meta = read_intent(part).meta
        if not meta or _OTHER_WHEN.search(part):
            return False
    return True


# a date asked of something else than the notice's issue or effect (“申报系统什么时候开放”)
_OTHER_WHEN = re.compile(r"(?:什么时候|啥时候|何时|哪天|哪一天|几号|几月)(?!\s*(?:[？?,，。]|$|发|印发|发布|出台|下发|公布|"
                         r"(?:开始|起)?(?:施行|实施|执行|生效)|起|截止|到期|为止|结束))")


def topic_bigrams(question: str) -> frozenset[str]:
    """The content bigrams only the topic of a follow-up made standalone names (“关于<topic>，…”): they found the
    notice; what the rest asks is what a sentence answering it shares."""
    topic = _TOPIC.match(fold(question))
    return frozenset(question_bigrams(question) - question_bigrams(fold(question)[topic.end():])) if topic else frozenset()


def question_bigrams(question: str) -> set[str]:
    """Content bigrams of a question: interrogative words are cut out, not bridged over, and so is what it
    sets aside (“除了高企证书，还有哪些…” asks about the others)."""
    return bigrams(QUESTION_WORDS.sub(" ", _EXCEPT.sub(" ", fold(question))))


# the province's cities: a national list names a 浙江 entry by its city (“宁波市江北区…产业集群”), not the province
ZHEJIANG_CITIES = ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水")


def within(places: Sequence[str]) -> tuple[str, ...]:
    """``places`` and the cities of a province among them (浙江 → 杭州, 宁波, …): what a row of a list may name instead."""
    return tuple(dict.fromkeys([*places, *(ZHEJIANG_CITIES if "浙江" in places else ())]))


# what names a place as the model another place is asked against: “宁波有没有类似杭州的算力券”
_LIKENESS = re.compile(r"(?:类似|像|参照|比照)(?:于|着)?$")


def _places(q: str) -> tuple[str, ...]:
    """Place names from a gazetteer: a generic “X市/X区” pattern reads 小区, 园区, 评上省级 as places.  A place named
    only as the model of a likeness (“类似杭州的”) is not asked of when another place is (宁波 is)."""
    found = list(_KNOWN_PLACES.finditer(q))
    asked = [m for m in found if not _LIKENESS.search(q[max(0, m.start() - 3):m.start()])]
    return tuple(dict.fromkeys(m.group(0) for m in (asked or found)))


_FACT_PATTERNS: dict[str, re.Pattern[str]] = {
    "score": re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s*分(?![钟之别类批期])"),
    "duration": re.compile(r"(?<![\d.])(?!(?:19|20)\d{2}\s*年)\d+\s*(?:个)?(?:年|个月|天|周|工作日)|\d+\s*日(?:内|以内|之内)|"
                          r"[一二三四五六七八九十两半]+(?:个)?(?:年|月|天|周|工作日)(?![度底初])|长期有效"),
    # a period measured over (“近三年累计”, “连续三年”) is no date
    "date": re.compile(r"\d\s*[年月日]|工作日|\d+\s*天|(?<![近续])[一二三四五六七八九十两]+(?:年|个月|天|日)|年底|月底|即日起|前[，,。]|"
                       r"每(?:[一二两三四五六半]?(?:年|季度?|月|周|旬)|天|日)|季度|半年|(?<![一二两三四五六七八九十个])年度"),  # “不满两个年度” is a length
    # a month in words is followed as one (“十二月底”, “一月份”), not as in a name (“一月一链”)
    "month": re.compile(r"\d\s*月|[一二三四五六七八九十]{1,2}月(?=[份底初中上下起前至止到、，,。;；]|$)|[月年][底初]|[上中下]旬|季度|"
                        r"[上下]半年"),
    "day": re.compile(r"\d\s*[月日]|(?<![\d〕\]）)])\d{1,2}\s*号|[月年]底|月初|上旬|中旬|下旬|工作日|\d+\s*天|"
                      r"[一二三四五六七八九十两]+(?:个工作日|天|日)|即日起|每(?:[一二两三四五六半]?(?:月|周|旬)|天|日)"),
    "number": re.compile(r"(?<![\d.])(?!(?:19|20)\d{2}\s*年)\d+(?:\.\d+)?\s*(?!天津|台州)"  # “1 天津市…”: a row's number, a city
                         r"(?:%|[万亿千百]|[元个家项倍名人次分件批类所亩天年份栋幢座台套户位支只辆组]|个月|平方米|个百分点)|[一二三四五六七八九十两百千万亿]+(?:元|万|亿|%|个|家|项|倍|名|人|次|份|种|类|栋|幢|座|台|套|户|位|支)|百分之|一半|翻番|"
                         r"(?:不低于|不少于|不高于|高于|低于|达到)\s*\d+(?:\.\d+)?(?![\d.]|\s*[年月日号])|"  # a bare ratio: 容积率…不低于1.5
                         r"(?:^|\t)\s*\d+(?:\.\d+)?\s*(?=\t|$)"),  # a table cell: its header names the unit
    "money": re.compile(r"(?<![\d.])(?!(?:19|20)\d{2}\s*年)\d+(?:\.\d+)?\s*(?:[万亿千百]*元|%)|百分之|[一二三四五六七八九十两百千万]+元"),
    "percent": re.compile(r"\d\s*%|百分之|百分点|(?:\d|[一二三四五六七八九十])\s*成(?![本员果立为效功熟交长都])|\d\s*/\s*\d|"
                         r"[一二三四五六七八九十]+分之[一二三四五六七八九十]+|一半|翻番|倍"),
    # words of paying: a grant is stated by a ``money`` figure beside one of them (see :func:`states`)
    "grant": re.compile(r"给予|奖励|奖补|补助|补贴|补偿|资助|贴息|扶持|支持|申领|领取|兑现|发放|额度|减免|免征|返还|配套|一次性"),
    # a platform states where to go only as one to use (“登录…申报系统”, “平台(网址…)”), not as a thing built (“科创平台”)
    "contact": re.compile(r"\d{3,4}\s*-\s*\d{7,8}|\d{11}|电话\s*[:：]?\s*\d{7,8}|https?://|www\.|[\w.]+@[\w.]+|路\s*\d+\s*号|"
                          r"(?:登录|登陆|通过|进入|在|依托|借助)[^，,。；;]{0,24}(?:平台|系统|网站|服务网)|(?:平台|系统|网站)\s*[(（:：]"),
    "whom": re.compile(r"向[^，,。；;]{2,30}(?:反映|提出|咨询|反馈|举报|投诉|联系)|与[^，,。；;]{2,30}联系|联系人"),
    "phone": re.compile(r"\d{3,4}\s*-\s*\d{7,8}|(?<!\d)\d{11}(?!\d)|(?:电话|热线)[^，,。；;\d]{0,8}\d{7,8}|联系人"),
    "web": re.compile(r"https?://|www\.|[a-z0-9-]+\.(?:gov|com|org|net)(?:\.cn)?\b", re.IGNORECASE),
    "in_charge": re.compile(r"责任单位|牵头|负责|主管部门|[厅局委办]、|[厅局委办][)）]"),
    "addressee": re.compile(r"[(（][^()（）]{0,12}不发[)）]|各(?:市|县|区|设区市|有关)[^。:：]{0,40}[:：]"),
}


_FIGURE_KINDS = frozenset({"money", "grant", "percent", "grant_rate"})
_TIME_KINDS = frozenset({"date", "day", "month", "duration"})
# a figure asked per recipient (“一家企业最多能用多少”, “单个项目封顶多少”), not per year or in total …
_PER_RECIPIENT = re.compile(r"(?:每|单)(?:个|家|户|名)(?:[^，,？?。]{0,4}?)(?:企业|项目|园区|试点|县)|一家企业|一个企业|每户|每人|一户")
# … which a sentence states only with a per-unit word or a cap (“每家企业每年…不超过800万元”)
_PER_STATED = re.compile(r"每(?:[家个户名项位人所]|企业|项目|园区|试点)|单个|单家|单项(?!冠军)|单支|单户|最高|不超过|上限|封顶|最多|以内|户均|人均")


def per_recipient_unstated(question: str, intent: Intent, sentence: str) -> bool:
    """Whether ``question`` asks a figure per recipient that ``sentence`` gives only in total (“一家企业最多能用多少
    创新券” answered by “新增发放创新券1.5亿元”)."""
    return (bool(set(intent.fact_kinds) & (_FIGURE_KINDS | {"number"})) and bool(_PER_RECIPIENT.search(fold(question)))
            and not _PER_STATED.search(sentence))


def programme_unnamed(intent: Intent, aliases: Sequence[tuple[str, Sequence[str]]], clause_text: str) -> str | None:
    """The programme a question asking an amount or a date names by an everyday name (高企 → 高新技术企业, ``aliases``
    from the colloquial table) that ``clause_text`` (the answering clause with its title and headings) names in neither
    form: its figure is another programme's (“评上高企以后省里一次性奖励多少钱” answered by a 模型备案 reward's “50万元的
    一次性奖励”; “2024年高企第一批什么时候截止” by a 技改 notice's deadline).  A rule in front of the model; on the
    thirteen sets' dev parts it held for nine questions asking amounts, all unanswerable; dates were added on the
    twenty-two sets' (one more refused, nothing lost), counts were not (two answers lost)."""
    if not set(intent.fact_kinds) & (_FIGURE_KINDS | _TIME_KINDS):
        return None
    text = compact(fold(clause_text))
    return next((said for said, meant in aliases if len(meant) == 1 and not QUESTION_WORDS.search(said)
                 and said not in text and meant[0] not in text), None)


# a grade named by its value: AAA级 (A to AAA), 四星 (a numeral before 星)
_GRADE = re.compile(r"(A{1,3})(?=级)|([一二三四五六七八九十\d]+)(?=星)")


def _grades(text: str) -> set[tuple[str, str]]:
    return {("A", m.group(1)) if m.group(1) else ("星", m.group(2)) for m in _GRADE.finditer(compact(fold(text)).upper())}


def other_grade(question: str, sentence: str) -> bool:
    """Whether ``sentence`` speaks of another grade than every one ``question`` asks of (四星 asked, “绩效评价结果为
    五星的…补助” stated; AAA级 asked, a rule for AA级): a rule for one grade says nothing of another."""
    asked, stated = _grades(question), _grades(sentence)
    return bool(asked and stated and not asked & stated and {k for k, _ in asked} & {k for k, _ in stated})


# an entry threshold asked (“进培育库有什么门槛”), and a plan's target (“到2025年…纳入培育库的…累计达到300家以上”)
_THRESHOLD = re.compile(r"门槛|什么条件|哪些条件|啥条件|够格|资格")
_TARGET = re.compile(r"^\s*到\s*20\d{2}\s*年|力争|累计达到")


def target_for_threshold(question: str, sentence: str) -> bool:
    """Whether ``question`` asks a threshold to qualify that ``sentence`` answers with a plan's target: how many a
    plan means to reach is not what one must have to be counted (“进培育库有什么门槛” of “到2025年…累计达到300家”)."""
    return bool(_THRESHOLD.search(question)) and bool(_TARGET.search(sentence))


# what a question applies for (“申报省级专精特新”, “专精特新“小巨人”的申报条件”), and the phrase by which a clause
# names a status its applicants already hold (“经认定为…专精特新…的制造业企业”, “拥有…高新技术企业资格证书”)
_APPLIES_FOR = (re.compile(r"(?:申报|申请|评上|评选|评定|认定|争创|入选|成为)(?:为|成)?([^，,。？?；;、的]{2,20})"),
                re.compile(r"([^，,。？?；;、]{2,20}?)的?(?:申报|认定|评定|入选|申请)(?:条件|门槛|标准)"))
_STATUS = re.compile(r"(?:认定为|评定为|评为|获评|入选|列入|拥有|取得|获得|属于)[^,，;；。]{0,40}?(?:的|企业|证书|资格)")
STATUS_WEIGHT = 2.0  # IDF below which a word of what is applied for is too common to name it (申报, 企业)


def only_as_status(question: str, weights: Mapping[str, float], clause: str) -> bool:
    """Whether ``clause`` names what ``question`` asks the conditions of applying for only as a status its
    applicants already hold: “申报省级专精特新，门槛多少？” of “经认定为…省级“专精特新”的制造业企业…门槛降低至
    500万”, a rule of another programme for those who have it, which says nothing of how to get it."""
    q, text = fold(question), fold(clause)
    spans = [m.group(1) for pattern in _APPLIES_FOR for m in pattern.finditer(q)]
    named = [w for w, v in weights.items() if v >= STATUS_WEIGHT and w in text and any(w in s for s in spans)]
    status = [m.span() for m in _STATUS.finditer(text)]
    return bool(named) and all(any(a <= m.start() < b for a, b in status)
                               for w in named for m in re.finditer(re.escape(w), text))


# a year (or a span of years, 2016—2017年) a notice's title names
_TITLE_YEARS = re.compile(r"((?:19|20)\d{2})(?:\s*[—–-]\s*((?:19|20)\d{2}))?\s*年")
_NAMING_WORDS = re.compile(r"[^，,。？?；;、的是有要了]{2,14}")  # what follows a year, up to where the naming stops
# (“2022年投保了…” tells what the asker did that year: 了 ends it)
EDITION_BIGRAMS = 2  # title bigrams the words after a year must share for the year to date that notice


def other_edition(question: str, title: str) -> bool:
    """Whether ``question`` names a notice by a year other than the one its ``title`` gives (“2023年杭州第一批工信
    项目” of “关于组织开展2024年第一批杭州市工信领域项目申报工作的通知”): the year dates the words after it, so the
    notice speaks of another round even when its text mentions the year asked (“2023年1月1日以后开工”)."""
    spans = [(int(m.group(1)), int(m.group(2) or m.group(1))) for m in _TITLE_YEARS.finditer(compact(title))]
    if not spans:
        return False
    q, named = compact(fold(question)), bigrams(title)
    for m in _YEAR.finditer(q):
        after = _NAMING_WORDS.match(q, m.end())
        if (after and len(bigrams(after.group(0)) & named) >= EDITION_BIGRAMS
                and not any(lo <= int(m.group(1)) <= hi for lo, hi in spans)):
            return True
    return False


# a yes/no question asking whether money is paid (“市场监管局会发奖金吗”, “有没有补贴”)
_ASKS_PAYMENT = re.compile(r"(?:发|给|有|拿|领|享受|申请)(?:不(?:发|给|有|拿))?(?:没有)?[^，,？?。]{0,8}?"
                           r"(?:奖金|奖励|补助|补贴|奖补|资助|扶持资金|专项资金|现金)")


def payment_unnamed(question: str, intent: Intent, sentence: str) -> bool:
    """Whether ``question`` asks only whether money is paid and ``sentence`` (the answering units) names no paying
    at all (“评上AAA级守合同重信用企业，会发奖金吗” answered by the 核实 procedure): no rule on it is stated."""
    return ("yes_no" in intent.kinds and not intent.fact_kinds and bool(_ASKS_PAYMENT.search(_TOPIC.sub("", fold(question))))
            and not _FACT_PATTERNS["grant"].search(sentence))


SERIES_YEARS = 3  # a text naming this many years or more gives a series (a table's header: 2016年 … 2020年)


def outside_series(years: Sequence[str], text: str) -> bool:
    """Whether ``text`` gives a series of years (:data:`SERIES_YEARS`) and every year asked lies beyond it (杭州2021年
    研发经费 of a table of 2016—2020): the series stops before what is asked."""
    stated = {int(y) for y in _YEAR.findall(compact(text))}
    return (len(stated) >= SERIES_YEARS and bool(years)
            and all(int(y) > max(stated) or int(y) < min(stated) for y in years))


def rate_put(question: str, intent: Intent) -> tuple[str, ...]:
    """``("percent",)`` when ``question`` asks only yes or no of a share it puts (“加计扣除能按100%扣吗？”): a clause
    stating no share does not answer it, however it matches the words; else ``()``."""
    if set(intent.kinds) != {"yes_no"} or len(intent.parts) > 1:
        return ()
    return ("percent",) if _RATE_PUT.search(fold(question)) else ()


_RATE_PUT = re.compile(r"\d\s*%|百分之[一二三四五六七八九十百\d]+")  # a share in figures (“分一半” is how much is sold)


def leaves_open(sentence: str, intent: Intent, question: str = "") -> bool:
    """Whether ``sentence`` leaves the figure asked open (“一定比例”) and states none of the kind asked, or
    ``question`` repeats its open phrase: “说按研发费用的“一定比例”奖励，比例是多少？” asks the open figure
    itself, which the sentence's other figures (“占营业收入比重3%以上的企业”, who qualifies) do not give."""
    kinds = set(intent.fact_kinds) & _FIGURE_KINDS
    found = _OPEN_FIGURE.search(sentence)
    if not kinds or not found:
        return False
    return found.group() in fold(question) or not any(states(sentence, k) for k in kinds)


_BOOK_TITLE = re.compile(r"《[^《》]*》")
GRANT_NEAR = 15  # characters at most between an amount and a word of paying for them to state a grant together


def states(sentence: str, kind: str, said: Sequence[str] = ()) -> bool:
    """Whether ``sentence`` states a fact of ``kind`` (money, number, date); a grant is an amount beside a
    word of paying (给予/补助/奖励/资助…), so “拉动投资500亿元” does not answer “每个项目补多少钱”.

    A name in 《》 states nothing: “形成《2024年杭州市…汇总表》” gives no date for “最晚哪天报”."""
    sentence = _BOOK_TITLE.sub("", sentence)
    for figure in said:  # what the asker already said is no answer: “这213个里面” is not answered by “213个”
        sentence = re.sub(rf"(?<![\d.]){re.escape(figure)}(?![\d.])", "某", sentence)
    if kind in ("grant", "grant_rate"):  # an amount (a share) beside a word of paying
        pays = [m.span() for m in _FACT_PATTERNS["grant"].finditer(sentence)]
        amounts = _FACT_PATTERNS["money" if kind == "grant" else "percent"].finditer(sentence)
        return any(max(a, c) - min(b, d) <= GRANT_NEAR for a, b in (m.span() for m in amounts) for c, d in pays)
    return bool(_FACT_PATTERNS[kind].search(sentence))
