"""The store contract (tests/store_contract.py) on every backend: FAISS files, Milvus Lite embedded,
Milvus Lite served over gRPC on a loopback port (reached by URI), and a real Milvus when ``MILVUS_URI`` is set."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import IndexConfig, StoreConfig
from rag.store import Store
from rag.store.faiss_store import FaissStore
from tests.store_contract import StoreContract

pytestmark = pytest.mark.slow


class TestFaissStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, corpus_embedder) -> Iterator[Store]:
        self.cfg = IndexConfig(root=str(tmp_path), name="contract")
        s = FaissStore.open(self.cfg, corpus_embedder, create=True)
        yield s
        s.close()

    def reopen(self, store: Store) -> Store:
        store.close()
        return FaissStore.open(self.cfg, store.embedder)  # type: ignore[attr-defined]


def _milvus(cfg: StoreConfig, embedder) -> Store:
    from rag.store.milvus_store import MilvusStore

    return MilvusStore.open(cfg, embedder, create=True)


class TestMilvusLiteStore(StoreContract):
    """Embedded Milvus Lite: a fresh folder per test, since Lite locks its folder to one client."""

    @pytest.fixture
    def store(self, tmp_path: Path, corpus_embedder) -> Iterator[Store]:
        pytest.importorskip("pymilvus")
        self.cfg = StoreConfig(backend="milvus", uri=str(tmp_path / "milvus"), collection="contract")
        s = _milvus(self.cfg, corpus_embedder)
        yield s
        s.close()

    def reopen(self, store: Store) -> Store:
        store.close()
        return _milvus(self.cfg, store.embedder)  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory) -> Iterator[str]:
    """``milvus-lite server`` on a loopback port: the network path a standalone Milvus is reached by."""
    pytest.importorskip("pymilvus")
    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-server")
    exe = Path(sys.executable).with_name("milvus-lite")
    proc = subprocess.Popen([str(exe), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"milvus-lite server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class TestMilvusServerByURI(TestMilvusLiteStore):
    """The same client code against a server: one collection per test, one server per module."""

    @pytest.fixture
    def store(self, lite_server: str, corpus_embedder, request) -> Iterator[Store]:
        self.cfg = StoreConfig(backend="milvus", uri=lite_server, collection=f"t_{request.node.name[5:40]}")
        s = _milvus(self.cfg, corpus_embedder)
        yield s
        s.close()


@pytest.mark.skipif(not os.environ.get("MILVUS_URI"), reason="set MILVUS_URI (and MILVUS_TOKEN) to test a real Milvus")
class TestRealMilvus(TestMilvusServerByURI):
    @pytest.fixture
    def store(self, corpus_embedder, request) -> Iterator[Store]:
        self.cfg = StoreConfig(backend="milvus", uri=os.environ["MILVUS_URI"], token=os.environ.get("MILVUS_TOKEN", ""),
                               collection=f"policy_rag_test_{request.node.name[5:40]}")
        s = _milvus(self.cfg, corpus_embedder)
        yield s
        from rag.store.milvus_store import MilvusStore

        assert isinstance(s, MilvusStore)
        target = s._target()
        if target:  # leave the server as we found it
            s.client.drop_alias(s.alias)
            s.client.drop_collection(target)
        s.close()
