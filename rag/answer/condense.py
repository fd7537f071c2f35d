"""Follow-up questions made standalone, so retrieval sees the subject the user left out.

With an LLM the condense prompt does it.  Without one, a rule that fits how Chinese
follow-ups are formed: “那申报截止时间呢？” keeps the *topic* of the previous question and
asks a new *attribute* of it.  The topic of “X的Y是什么” is X (the attributive before the
last 的), or the clause naming a notice by its kind.  A question *opens* as a follow-up with a
leading anaphor (那、这事、该政策…), a trailing 呢 or a short first clause ending in one (“亩均方面呢？…”),
or by being too short to stand alone; an anaphor inside it (这个、那个、这批…) may point at what it names
itself, so :meth:`rag.answer.Answerer._resolve` asks retrieval whether it leans on the conversation; one naming
a notice in its own words (“这份成果转化的文件…”) does not.
“那宁波呢？” / “那2024年呢？” names nothing but another place or year: it asks the previous question
again about that place or year.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.intent import NOTICE_KIND, QUESTION_WORDS, Intent, read_intent
from rag.textnorm import compact

_LEADING_ANAPHOR = re.compile(
    r"^(?:那么|那|那这个|那个|这个|这项|这套|这些|这件?事|该|此|其|它们?的?|上述|以上|里[面头])"
    r"(?:政策|文件|通知|措施|意见|规定|项目)?的?[,，、]?"
)
# “还有，…”/“另外，…” only says another question comes: what follows decides whether it leans on the conversation
_ANOTHER = re.compile(r"^(?:还有|另外|此外|再问一下|再问)[,，、]?")
_EMBEDDED_ANAPHOR = re.compile(r"它|这件?事|该(?:政策|文件|通知|措施|意见|规定|项目)|这个|那个|上述|这项|此项|这些|这里[面头]|这[批份套]|那套|"
                               r"在里[面头]")
_PUNCT = " ？?。！!，,、：:"
_OPENING_NE = re.compile(r"^[^？?，,。]{1,8}呢[？?，,]")  # a short first clause ending in 呢
_SHORT = 6  # a question of at most this many content characters cannot stand alone


def _core(question: str) -> str:
    return QUESTION_WORDS.sub("", question).strip(_PUNCT)


def opens_as_follow_up(question: str) -> bool:
    """Marked as a follow-up by how it opens or by its shortness: it cannot be read alone whatever it names."""
    q = _ANOTHER.sub("", question.strip())
    return bool(
        _LEADING_ANAPHOR.match(q)
        or (q.rstrip(_PUNCT).endswith("呢") and len(q) <= 15)
        or _OPENING_NE.match(q) is not None  # “亩均方面呢？亩均税收…要到多少？”: it opens on the topic left out
        or len(_core(q)) <= _SHORT
    )


def is_follow_up(question: str) -> bool:
    """Marked as a follow-up: by its opening (:func:`opens_as_follow_up`) or by an anaphor inside it, which may
    also just point at what the question itself names (“个转企那个实施意见…”)."""
    return opens_as_follow_up(question) or bool(_EMBEDDED_ANAPHOR.search(question.strip()))


_CLAUSE = re.compile(r"[,，?？;；]")
_NOTICE_OR_FILE = re.compile(rf"{NOTICE_KIND.pattern}|文件")
# what may stand before a notice's kind without naming it: a determiner, a preposition, where it came from
_VERB_AFTER = re.compile(r"[\u4e00-\u9fff](?<![里中的是文第从和与跟印发哪什几有说要对提])")
_ASKS_WHICH = re.compile(r"(?:哪|什么|啥)[个份项些]?的?$")
_NOT_NAMING = re.compile(r"这[个份项套]|那[个份项套]|该|此|它|关于|按照?|根据|依据|对于|省里|市里|国家|上面|前面|刚才|里面|那边|这边|的")


def names_notice(question: str) -> bool:
    """Whether ``question`` names a notice itself (“这份成果转化的文件文号是多少？”, “这个守重的通知…”): at least two
    characters of its own words before a kind of notice, so a 这个/那个 in front points at what it names, not at
    the conversation; “那个意见”, “省里那个通知” name nothing."""
    for clause in _CLAUSE.split(question):
        for kind in _NOTICE_OR_FILE.finditer(clause):
            if _VERB_AFTER.match(clause, kind.end()):  # “计划组建多少家”: a verb, not a kind of notice
                continue
            before = clause[: kind.start()]
            if _ASKS_WHICH.search(before):  # “依据哪个文件”: the notice is asked, not named
                continue
            own = _NOT_NAMING.sub("", before)
            if len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", own)) >= 2:
                return True
    return False
_BY = re.compile(r"^(?:按照?|根据|依据|关于|对于|在)")  # “按…那个指导意见”: the notice is the topic, not the 按
_ASKER = ("我", "咱", "本公司", "本单位")  # “我们做跨境电商的，…”: the asker's situation, not the topic


def topic(question: str) -> str:
    """The subject of a question: a leading phrase that asks nothing (“那个意见，文号多少、哪天发的？”),
    else the attributive before the last 的 of the content words of its first asking clause (“…实施意见文号是
    多少？哪个部门发的？”: what the later clauses ask is no part of the subject), and the thing after it when the
    attributive names only where or when (“杭州的算力券一年发多少？”: 杭州的算力券), behind what the asker says they
    did or want before asking (“我们厂报了2023年省级未来工厂，…”, “…，想在浙江设研发中心，省里的一次性奖励怎么
    算？”); not who they are (我们是…) nor a filler (顺便问下).  Its pieces are joined by spaces: a comma ends the
    “关于<topic>，” a follow-up is made standalone with."""
    first, *rest = [p for p in _CLAUSE.split(question) if p.strip(_PUNCT)] or [question]
    naming = next((p for p in (first, *rest) if NOTICE_KIND.search(p) and not QUESTION_WORDS.search(p)), None)
    if rest and naming is not None:  # “我们厂想…，按国家服务型制造那个指导意见，土地用途要不要变更？”: the notice named
        return _BY.sub("", re.sub(r"\s+", "", naming.strip(_PUNCT)))
    if (rest and not QUESTION_WORDS.search(first) and len(first.strip(_PUNCT)) >= 2 and not first.startswith(_ASKER)
            and not _FILLER_CLAUSE.fullmatch(first.strip(_PUNCT))):
        return re.sub(r"\s+", "", first.strip(_PUNCT))
    asking = next((p for p in (first, *rest) if QUESTION_WORDS.search(p) and not p.startswith(_ASKER)), question)
    core = QUESTION_WORDS.sub(" ", asking).strip(_PUNCT)
    core = re.sub(r"\s+", "", core)
    head, sep, tail = core.rpartition("的")
    if sep and not _names_something(head):  # “杭州的算力券一年总共发多少？”: the thing after the place, not what is asked of it
        head = f"{head}的{_ASKED_OF.split(tail, maxsplit=1)[0]}"
    subject = head if sep else core
    # “我们是外资企业，想在浙江设研发中心，省里的一次性奖励怎么算？”: what the asker wants is the subject too
    parts = (first, *rest)
    before = parts[: parts.index(asking)] if asking in parts else ()
    said = [_ASKER_DID.sub("", compact(p)) for p in before if not p.startswith(_ASKER) or _ASKER_DID.match(compact(p))]
    return " ".join([*(p for p in said if len(p) >= 2 and not _FILLER_CLAUSE.fullmatch(p)), subject])  # no comma: “关于…，” ends it


_ASKED_OF = re.compile(r"最晚|最迟|最多|最少|最高|一年|每年|单家|一家|每家|截止|总共|一共|能|可以|要|还[能要用有]|现在|是|有|具体|到底")
# what the asker applied for or took part in (“我们厂报了2023年省级未来工厂”): the programme is the subject
_ASKER_DID = re.compile(r"^(?:我们|我|咱们?)(?:公司|厂|企业|单位|园区)?(?=(?:已经|去年|今年)?(?:申?报了|申请了|参加了|投保了|评上了|入选了))")
_FILLER_CLAUSE = re.compile(r"顺便问一?下|再问一?下|问一?下|请问|另外|还有|对了|此外")


_WHERE_WHEN = re.compile(r"去年|今年|明年|前年|当年|[省市县区]里|国家|全[省市国]|[省市县区]级?|年|[给在]")


def _names_something(head: str) -> bool:
    """Whether the attributive before a 的 names a subject, not only where or when (“杭州的算力券一年发多少？”: 杭州
    is no topic, the 算力券 after it is)."""
    asked = read_intent(head)
    for name in (*asked.places, *asked.years):
        head = head.replace(name, "")
    return len(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", _WHERE_WHEN.sub("", head))) >= 2


def history_topic(history: Sequence[tuple[str, str]]) -> str:
    """The topic the user turns of ``history`` end on: a follow-up keeps the current topic, any other
    question sets a new one."""
    current = ""
    for user, _answer in history:
        if not (current and is_follow_up(user)):
            current = topic(user)
    return current


def as_follow_up(question: str, history: Sequence[tuple[str, str]]) -> str | None:
    """``question`` read as a follow-up of the conversation's topic though nothing in its wording marks it as one
    (“我们对名单有意见，该打哪个电话？” after a question on a 公示); None without a topic.  What a question that
    finds nothing on its own is asked again as (:meth:`rag.answer.Answerer.stream`)."""
    current = history_topic(history)
    asked = question.strip().strip(_PUNCT)
    return f"关于{_retarget(current, read_intent(asked)) or current}，{asked}？" if current else None


def about_previous(question: str, history: Sequence[tuple[str, str]]) -> str:
    """``question`` asked about the previous question (made standalone by rule): what a question asking only fields
    of a notice's record, naming none, means (“这通知是哪个部门、哪天发的？” is about the notice just talked about)."""
    return f"关于{condense_heuristic(history[-1][0], history[:-1]).strip(_PUNCT)}，{question.strip()}"


def condense_heuristic(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Resolve ``question`` against the topic of the user turns of ``history`` (:func:`history_topic`)."""
    current = history_topic(history)
    if not current or not is_follow_up(question):
        return question
    rest = _LEADING_ANAPHOR.sub("", _ANOTHER.sub("", question.strip())).strip(_PUNCT).removesuffix("呢").strip(_PUNCT)
    swapped = _swap(condense_heuristic(history[-1][0], history[:-1]), rest)
    # “那2024年那一轮…”: the follow-up's own place/year replaces the topic's, or the topic would ask both
    return swapped or f"关于{_retarget(current, read_intent(rest)) or current}，{rest or question.strip()}？"


_FILLER = re.compile(r"[的年市县区]|那边|这边|那里|的话")


def _swap(previous: str, rest: str) -> str | None:
    """The previous question with its place/year replaced, when ``rest`` names only another place/year."""
    new = read_intent(rest)
    named = [*new.places, *new.years]
    left = rest
    for name in named:
        left = left.replace(name, "")
    if not named or QUESTION_WORDS.search(rest) or len(_FILLER.sub("", left).strip(_PUNCT)) > 1:
        return None
    return _retarget(previous, new)


def _retarget(text: str, new: Intent) -> str | None:
    """``text`` with its first place/year replaced by those ``new`` names; None when nothing changes."""
    old = read_intent(text)
    swapped = False
    for mine, theirs in ((new.places, old.places), (new.years, old.years)):
        if mine and theirs and mine[0] != theirs[0]:
            text, swapped = text.replace(theirs[0], mine[0]), True
    return text if swapped else None


def format_history(history: Sequence[tuple[str, str]], turns: int = 3, answer_chars: int = 300) -> str:
    """The last ``turns`` exchanges for the condense prompt, long answers cut."""
    lines = []
    for user, answer in history[-turns:]:
        lines.append(f"用户：{user.strip()}")
        short = answer.strip()
        lines.append(f"助手：{short[:answer_chars]}{'…' if len(short) > answer_chars else ''}")
    return "\n".join(lines)
