"""Read a legacy Word .doc (the binary format) through antiword (Debian package ``antiword``).

antiword writes UTF-8 with one paragraph per line (``-w 0``) and tables as ``|cell|cell|``
lines, which become table lines like those of the other readers.  Without antiword the file
is refused with a reason that names the package, never silently skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from rag.config import FormatsConfig
from rag.ingest.formats.extracted import Extracted, TextBuilder
from rag.ingest.formats.tables import table_lines
from rag.ingest.read import UnreadableFile


def read_doc(path: Path, cfg: FormatsConfig) -> Extracted:
    """The text antiword reads from the file."""
    exe = shutil.which(cfg.doc_tool)
    if exe is None:
        raise UnreadableFile(f"a legacy Word .doc needs {cfg.doc_tool}, which is not installed "
                             "(Debian: apt-get install antiword, or `make ocr`); or save the file as .docx")
    try:
        done = subprocess.run([exe, "-m", "UTF-8.txt", "-w", "0", str(path)], capture_output=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise UnreadableFile(f"{cfg.doc_tool} gave up after 120 s") from exc
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise UnreadableFile(f"{cfg.doc_tool} cannot read it as a Word .doc: {why}")
    out = TextBuilder()
    table: list[list[str | None]] = []

    def flush_table() -> None:
        for text in table_lines(table):
            out.line(text)
        table.clear()

    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("|") and line.rstrip().endswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        flush_table()
        out.line(line)
    flush_table()
    return out.build()
