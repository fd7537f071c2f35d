"""The bundled corpus as text, as PDF and as Word: what ingest finds and how retrieval scores on each.

    python bench/formats.py            # txt vs pdf vs docx: files, documents, chunks, noise, hit@5, time

The PDF and DOCX copies are written from data/corpus by tests/publish.py (one paragraph per line,
header and page number on every PDF page); ``eval/qa.jsonl`` is run retrieval-only on an index of
each.  Vectors come from the shared cache, so only clause texts that differ are embedded.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.config import Config, load_config  # noqa: E402
from rag.embed import Embedder, make_embedder  # noqa: E402
from rag.evaluation.qaset import QAItem, load_qa  # noqa: E402
from rag.evaluation.assemble import pipeline_on  # noqa: E402
from rag.evaluation.runner import run_eval  # noqa: E402
from rag.service import Service  # noqa: E402
from rag.store.factory import make_store  # noqa: E402
from tests.publish import publish_corpus  # noqa: E402

KINDS = ("txt", "pdf", "docx")


@dataclasses.dataclass(frozen=True)
class Row:
    kind: str
    files: int
    pages: int
    documents: int
    chunks: int
    noise_chars: int
    errors: int
    ingest_s: float
    hit5: float

    def line(self, pages: int) -> str:
        """One table row; ``pages``: the PDF's page count, the common yardstick of time per page."""
        return (f"| {self.kind} | {self.files} | {self.pages or '-'} | {self.documents} | {self.chunks} | "
                f"{self.noise_chars} | {self.errors} | {self.ingest_s:.2f} | {1000 * self.ingest_s / pages:.1f} | "
                f"{self.hit5:.3f} |")


HEADER = ("| format | files | pages | documents | chunks | noise chars removed | errors | ingest s | ingest ms/page"
          " | hit@5 |\n|---|---|---|---|---|---|---|---|---|---|")


def measure(kind: str, folder: Path, cfg: Config, embedder: Embedder, items: list[QAItem]) -> Row:
    """Ingest ``folder`` (timed), index it beside the others, score ``items`` retrieval-only."""
    t0 = time.perf_counter()
    result = Service.ingest(cfg, [folder])
    seconds = time.perf_counter() - t0
    icfg = cfg.replace("index", name=f"formats-{kind}")
    service = Service(icfg, make_store(icfg, embedder, create=True), embedder)
    service.build_from(result)
    evaluation = run_eval(items, [pipeline_on(service, 10, retrieval_only=True)])
    return Row(kind, len(result.files), sum(f.pages for f in result.files), len(result.documents),
               len(result.chunks), sum(f.noise_chars for f in result.files), len(result.errors), seconds,
               evaluation.metrics["pipeline"]["overall"]["hit@5"])


def compare(corpus: Path, work: Path, cfg: Config, embedder: Embedder, items: list[QAItem]) -> list[Row]:
    """One row per format: the text corpus itself, then its PDF and DOCX copies written into ``work``."""
    folders = {"txt": corpus} | {k: publish_corpus(corpus, k, work / k) for k in KINDS[1:]}
    return [measure(k, folders[k], cfg, embedder, items) for k in KINDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qa", default="eval/qa.jsonl")
    args = parser.parse_args()
    cfg = load_config()
    items = load_qa(args.qa)
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        cfg = cfg.replace("index", root=tmp)
        rows = compare(Path(cfg.corpus), Path(tmp), cfg, make_embedder(cfg.embed), items)
    pages = next(r.pages for r in rows if r.kind == "pdf")
    print(f"{len(items)} questions of {args.qa}, retrieval only; ms/page = ingest time / the PDF's {pages} pages")
    print(HEADER)
    for r in rows:
        print(r.line(pages))


if __name__ == "__main__":
    main()
