"""Put an evaluation together from one opened ``Service``: the systems, the run's metadata, the
calibration record, and refitting the answerability model — so the CLI only parses and prints.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rag.answer.answerability import NOT_FOUND, AnswerabilityModel, fit
from rag.answer.llm import make_chat_model
from rag.config import Config, LLMConfig
from rag.embed import LangChainEmbeddings
from rag.evaluation.baselines import LangChainBaseline, read_corpus_files, retriever_baselines
from rag.evaluation.qaset import QAItem
from rag.evaluation.runner import Judge, PipelineSystem, RetrieverSystem, System
from rag.progress import track
from rag.retrieve import word_lists

if TYPE_CHECKING:
    from rag.service import Service


def calibration(cfg: Config, model: AnswerabilityModel) -> dict[str, Any]:
    """What the answer metrics depend on besides the code: the hand-set constants, the word lists and the fitted model."""
    return {"answer": dataclasses.asdict(cfg.answer) | {"answerability": None}, "answerability_model": model.digest,
            "retrieve": dataclasses.asdict(cfg.retrieve), "word_lists": word_lists(cfg.retrieve)}


def build_systems(service: Service, corpus: str, systems: Sequence[str], k: int,
                  retrieval_only: bool) -> tuple[list[System], dict[str, Any]]:
    """The pipeline (answers, or retrieval only) plus the requested baselines, and the run's metadata."""
    cfg = service.cfg
    status = service.status()
    meta: dict[str, Any] = {"backend": service.backend, "k": k, "store": status["store"], "index": status["index"],
                            "embedder": service.embedder.id, "answer_k": cfg.retrieve.k,
                            "calibration": calibration(cfg, service.answerability)}
    runners: list[Any] = [pipeline_on(service, k, retrieval_only)]
    runners += retriever_baselines(service, k, names=systems)
    if "langchain" in systems and not retrieval_only:
        t0 = time.perf_counter()
        files = read_corpus_files(corpus, cfg.ingest.extensions)
        print(f"building the LangChain baseline over {len(files)} file(s) (vectors cached after the first run)…",
              file=sys.stderr)
        lc = LangChainBaseline.build(files, LangChainEmbeddings(service.embedder), k=k,
                                     sentences=cfg.answer.extract_sentences)
        meta |= {"langchain_build_s": round(time.perf_counter() - t0, 2), "langchain_chunks": lc.n_chunks}
        runners.append(lc)
    return runners, meta


def make_judge(llm: LLMConfig) -> Judge:
    """LLM-as-judge of answer faithfulness, on the configured endpoint (even when answers are extractive)."""
    return Judge(make_chat_model(llm))


def pipeline_on(service: Service, k: int, retrieval_only: bool, name: str = "pipeline") -> System:
    """The product as evaluated: answers (or, fast, its ranking alone) from this service's store."""
    if retrieval_only:
        return RetrieverSystem(name, service.retriever_for("hybrid"), k, standalone=service.standalone)
    return PipelineSystem(service, k=k, name=name)


def fit_answerability(service: Service, items: Sequence[QAItem], qa: str) -> AnswerabilityModel | None:
    """Fit the answerability model on these (dev) items; None unless both answerable and unanswerable occur."""
    if not any(it.type == "unanswerable" for it in items) or all(it.type == "unanswerable" for it in items):
        return None
    rows = [service.answerability_features(it.question, it.history)
            for it in track(items, len(items), "features", unit="question")]
    return fit(rows, [it.type != "unanswerable" for it in items], [it.outcome == NOT_FOUND for it in items],
               fitted_on={"qa": qa, "split": "dev", "items": len(items), "embedder": service.embedder.id,
                          "fitted_at": time.strftime("%Y-%m-%d")})
