"""Precomputed vectors of the bundled corpus, shipped in the repository, so a fresh clone embeds nothing.

Embedding the bundled corpus (clauses, their quotable units, the LangChain baseline's chunks)
takes minutes on two cores.  ``data/corpus.vectors/<embedder id>/`` holds ``keys.txt`` (the
vector-cache key of each text: sha256 of embedder id and text, so a vector can only ever be
used for exactly the text and embedder it was made from) and ``vectors.npy`` (float32, no
pickle).  :func:`seed_cache` copies them into the vector cache once; nothing else trusts them.

Regenerate after a chunker or splitter change: ``policy-rag index seed-vectors`` (a test fails
while they are stale).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.embed import CachedEmbedder
from rag.sentences import quotable_units


def seed_folder(root: str | Path, embedder_id: str) -> Path:
    return Path(root) / re.sub(r"[^A-Za-z0-9._@-]+", "_", embedder_id)[:120]


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


def seed_cache(embedder: CachedEmbedder, seed_dir: str | Path) -> int:
    """Copy the shipped vectors of this embedder into its cache, once; returns how many rows were offered.

    Skipped (0) when there is no seed for this embedder or the cache already took this very seed.
    """
    folder = seed_folder(seed_dir, embedder.id)
    keys_file, vectors_file = folder / "keys.txt", folder / "vectors.npy"
    if not (keys_file.is_file() and vectors_file.is_file()):
        return 0
    digest = hashlib.sha256(keys_file.read_bytes()).hexdigest()[:16]
    if embedder.has_seed(digest):
        return 0
    keys = keys_file.read_text(encoding="ascii").split()
    vectors = np.load(vectors_file, allow_pickle=False)
    if vectors.shape != (len(keys), embedder.dim):
        raise ValueError(f"{folder}: {len(keys)} keys but vectors of shape {vectors.shape}; regenerate with "
                         "`policy-rag index seed-vectors`")
    embedder.add_seed(digest, keys, vectors)
    return len(keys)
