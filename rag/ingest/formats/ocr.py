"""Text of a scanned page, recognised by tesseract (Debian ``tesseract-ocr`` + ``tesseract-ocr-chi-sim``).

Tesseract runs as a subprocess on a PNG of the page and answers in TSV, one row per word with
its box, so OCR lines carry the same geometry as text-layer lines and go through the same
header/footer and line-wrap rules.  Without tesseract (or its language data) the caller is told
why, in words that name the package to install.
"""

from __future__ import annotations

import csv
import functools
import io
import shutil
import subprocess
from dataclasses import dataclass

from rag.ingest.read import UnreadableFile


@dataclass(frozen=True)
class OcrLine:
    """One recognised line; the box is in pixels of the image tesseract was given."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@functools.lru_cache(maxsize=8)
def ocr_missing(lang: str) -> str:
    """Why OCR in ``lang`` cannot run here, or "" when it can."""
    exe = shutil.which("tesseract")
    if exe is None:
        return "tesseract is not installed (Debian: apt-get install tesseract-ocr tesseract-ocr-chi-sim, or `make ocr`)"
    out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    have = set(out.stdout.split()) | set(out.stderr.split())
    absent = [name for name in lang.split("+") if name not in have]
    if absent:
        return (f"tesseract has no language data for {', '.join(absent)} "
                f"(Debian: apt-get install {' '.join('tesseract-ocr-' + a.replace('_', '-').lower() for a in absent)})")
    return ""


def ocr_lines(png: bytes, lang: str, psm: int, timeout: float) -> list[OcrLine]:
    """The lines tesseract reads in a page image, top to bottom."""
    try:
        done = subprocess.run(["tesseract", "stdin", "stdout", "-l", lang, "--psm", str(psm), "tsv"],
                              input=png, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise UnreadableFile(f"OCR gave up after {timeout:.0f} s on a page (formats.ocr_timeout)") from exc
    if done.returncode != 0:
        raise UnreadableFile(f"OCR failed: {done.stderr.decode('utf-8', 'replace').strip()[-300:]}")
    words: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    reader = csv.DictReader(io.StringIO(done.stdout.decode("utf-8", "replace")), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") == "5" and (row.get("text") or "").strip():
            words.setdefault((row["block_num"], row["par_num"], row["line_num"]), []).append(row)
    lines = []
    for ws in words.values():
        text = ""
        for w in ws:
            piece = w["text"].strip()
            text += " " + piece if text and text[-1].isascii() and text[-1].isalnum() and piece[0].isascii() else piece
        left = [int(w["left"]) for w in ws]
        top = [int(w["top"]) for w in ws]
        lines.append(OcrLine(text, min(left), max(int(w["left"]) + int(w["width"]) for w in ws), min(top),
                             max(int(w["top"]) + int(w["height"]) for w in ws)))
    return sorted(lines, key=lambda ln: (ln.top, ln.x0))
