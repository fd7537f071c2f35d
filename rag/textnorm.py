"""Text normalisation shared by retrieval, answer verification and evaluation.

Users type traditional characters, full-width digits, spaces inside numbers and 文号 with
any bracket; the corpus has PDF-break spaces (“2 亿元”, “〔2023〕289 号”).  Both sides are
folded the same way before they are compared or tokenised.  Display text is never changed.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_CJK = r"\u3400-\u9fff"
_SPACE_IN_NUMBER = re.compile(rf"(?<=[\d.])\s+(?=[\d{_CJK}%])|(?<=[{_CJK}])\s+(?=\d)")
_DOCNO = re.compile(
    rf"([{_CJK}]{{2,10}}?)\s*[〔\[\(【［（{{]?\s*((?:19|20)\d{{2}})\s*[〕\]\)】］）}}]?\s*第?\s*(\d{{1,4}})\s*号"
)
_WS = re.compile(r"\s+")
# CJK compatibility ideographs and Kangxi/CJK radicals: PDF writers emit them for ordinary characters
# (U+F98A for 力, U+2F47 for 日), so “算力券” typed by a user would never match the extracted text.
_LOOKALIKE_IDEOGRAPHS = re.compile("[\u2e80-\u2fdf\uf900-\ufaff\U0002f800-\U0002fa1f]")


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, dictionaries bundled

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (a no-op on text that is already simplified)."""
    return _t2s().convert(text)


def unify_ideographs(text: str) -> str:
    """NFKC for lookalike ideographs only, one character for one: offsets stay valid, the rest of the text
    (full-width punctuation included) is left as it was written."""
    return _LOOKALIKE_IDEOGRAPHS.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)


def canonical_doc_number(text: str) -> str:
    """Rewrite every 文号 to ``机关代字〔年〕号``: 浙政办发[2023]63号 / 浙政办发(2023) 63 号 -> 浙政办发〔2023〕63号."""
    return _DOCNO.sub(lambda m: f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号", text)


def has_doc_number(text: str) -> bool:
    """Whether ``text`` states a 文号 (in any bracket or spacing: raw or folded text alike)."""
    return bool(_DOCNO.search(text))


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str, simplify: bool = True) -> str:
    """The search form of a text: NFKC (full->half width), simplified, spaces in numbers removed,
    canonical 文号, lower-case ASCII.  NFKC would turn 〔〕 into nothing else, so they survive.

    Memoised: every question folds the same clause texts, headings and units again, and the
    pure-Python traditional->simplified pass was a third of an extractive answer's time."""
    text = unicodedata.normalize("NFKC", text)
    if simplify:
        text = to_simplified(text)
    text = _SPACE_IN_NUMBER.sub("", text)
    text = canonical_doc_number(text)
    return text.lower()


def compact(text: str) -> str:
    """Fold and drop all whitespace: the form used to test whether one text contains another."""
    return _WS.sub("", fold(text, simplify=False))


_CN_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")}


def cn_date(iso: str) -> str:
    """``2023-12-05`` as a notice writes it: ``2023年12月5日``."""
    y, m, d = iso.split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def cn_int(digits: str) -> int:
    """The value of a number written 12 or 十二 (up to 99; a lone digit character for longer ones, as clause
    markers never need more)."""
    if digits.isdigit():
        return int(digits)
    if "十" not in digits:
        return _CN_DIGIT.get(digits[-1], 0)
    tens, _, ones = digits.partition("十")
    return (_CN_DIGIT.get(tens, 1) if tens else 1) * 10 + (_CN_DIGIT.get(ones, 0) if ones else 0)


def cn_numeral(n: int) -> str:
    """``n`` (1–99) as notices write it in words: 2 → 二, 12 → 十二, 20 → 二十; other numbers as digits."""
    if not 1 <= n <= 99:
        return str(n)
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    return ((digits[tens] if tens > 1 else "") + "十" if tens else "") + (digits[ones] if ones else "")

