"""Precomputed vectors of the bundled corpus, shipped in the repository, so a fresh clone embeds nothing.

Embedding the bundled corpus (clauses, their quotable units, the LangChain baseline's chunks)
takes minutes on two cores.  ``data/corpus.vectors/<embedder id>/`` holds ``keys.txt`` (the
vector-cache key of each text: sha256 of embedder id and text, so a vector can only ever be
used for exactly the text and embedder it was made from) and ``vectors.npy`` (float32, no
pickle).  :func:`rag.embed.seed_cache` copies them into the vector cache once (``make_embedder``
does it); this module writes them.

Regenerate after a chunker or splitter change: ``policy-rag index seed-vectors`` (a test fails
while they are stale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.config import Config
from rag.embed import CachedEmbedder, seed_folder
from rag.sentences import quotable_units


def corpus_texts(cfg: Config) -> list[str]:
    """Every text the project embeds for the bundled corpus: clauses, their units, the baseline's chunks."""
    from rag.evaluation.baselines import read_corpus_files, split_files
    from rag.ingest import ingest

    result = ingest([cfg.corpus], cfg)
    texts = [c.embed_text() for c in result.chunks]
    texts += [u.strip() for c in result.chunks for _, u in quotable_units(c.text)]
    texts += [d.page_content for d in split_files(read_corpus_files(cfg.corpus, cfg.ingest.extensions))]
    return list(dict.fromkeys(texts))


def write_seed(cfg: Config, embedder: CachedEmbedder) -> tuple[Path, int]:
    """Embed (or take from the cache) every corpus text and write the seed files; returns (folder, count)."""
    texts = corpus_texts(cfg)
    vectors = embedder.embed_passages(texts)
    folder = seed_folder(cfg.embed.seed_dir, embedder.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "keys.txt").write_text("".join(embedder.key(t) + "\n" for t in texts), encoding="ascii")
    with open(folder / "vectors.npy", "wb") as f:
        np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    return folder, len(texts)
