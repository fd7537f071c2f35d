"""The shipped vectors of the bundled corpus: current, exact, and used only for their own texts."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from rag.config import Config
from rag.embed import CachedEmbedder, E5SmallEmbedder, seed_cache, seed_folder
from rag.seed import corpus_texts

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def shipped() -> tuple[list[str], np.ndarray, Config]:
    cfg = Config(corpus=str(ROOT / "data" / "corpus"))
    cfg = cfg.replace("embed", seed_dir=str(ROOT / "data" / "corpus.vectors"))
    folder = seed_folder(cfg.embed.seed_dir, E5SmallEmbedder().id)
    keys = (folder / "keys.txt").read_text(encoding="ascii").split()
    return keys, np.load(folder / "vectors.npy", allow_pickle=False), cfg


def test_shipped_vectors_are_current(shipped, tmp_path: Path) -> None:
    """Every text the project embeds for the bundled corpus has a shipped vector (else: regenerate them)."""
    keys, vectors, cfg = shipped
    embedder = CachedEmbedder(E5SmallEmbedder(), tmp_path)
    wanted = {embedder.key(t) for t in corpus_texts(cfg)}
    stale = wanted - set(keys)
    assert not stale, f"{len(stale)} corpus texts have no shipped vector: run `policy-rag index seed-vectors`"
    assert vectors.shape == (len(keys), 384) and vectors.dtype == np.float32


def test_shipped_vectors_equal_a_fresh_embedding(shipped, tmp_path: Path) -> None:
    keys, vectors, cfg = shipped
    cached = CachedEmbedder(E5SmallEmbedder(), tmp_path)
    by_key = dict(zip(keys, vectors))
    sample = random.Random(1).sample(corpus_texts(cfg), 6)
    fresh = E5SmallEmbedder().embed_passages(sample)
    assert np.allclose(fresh, np.stack([by_key[cached.key(t)] for t in sample]), atol=1e-5)


class _Refuses:
    """An embedder that must not be called: every vector has to come from the seed."""

    dim = 384

    def __init__(self, real_id: str) -> None:
        self.id = real_id

    def embed_passages(self, texts):  # pragma: no cover - reaching it fails the test
        raise AssertionError(f"embedded {len(texts)} texts the seed should have supplied")

    embed_queries = embed_passages


def test_seed_fills_an_empty_cache_once_and_only_for_its_own_texts(shipped, tmp_path: Path) -> None:
    keys, _, cfg = shipped
    real = E5SmallEmbedder()
    cached = CachedEmbedder(_Refuses(real.id), tmp_path / "cache")
    assert seed_cache(cached, cfg.embed.seed_dir) == len(keys)
    assert seed_cache(cached, cfg.embed.seed_dir) == 0  # already taken
    texts = corpus_texts(cfg)
    assert cached.embed_passages(texts).shape == (len(texts), 384)  # all from the seed, nothing embedded
    other = CachedEmbedder(_Refuses("st:another-model"), tmp_path / "cache")
    assert seed_cache(other, cfg.embed.seed_dir) == 0  # no seed for another embedder
    assert other.missing(texts[:5]) == 5  # another embedder never sees these vectors
