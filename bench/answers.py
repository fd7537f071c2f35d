"""Answer latency of the extractive default on never-seen questions: p50/p95 per stage.

Every question is asked once in a fresh process, so the query-vector cache is cold; sentence
(unit) vectors come from the index, so an answer embeds only its question.
Run: ``python bench/answers.py [--qa eval/qa-user.jsonl] [--split test]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rag.config import load_config
from rag.evaluation.qaset import load_qa
from rag.service import Service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qa", default="eval/qa-user.jsonl")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    cfg = load_config()
    cfg = cfg.replace("llm", base_url="", model="")
    t0 = time.perf_counter()
    service = Service.open(cfg)
    print(f"open: {time.perf_counter() - t0:.2f} s")
    items = [it for it in load_qa(args.qa) if it.split in ("", args.split)]
    service.ask("预热：算力券")  # loads jieba and the ONNX session once; not a measured question
    stages: dict[str, list[float]] = {}
    lengths = []
    for it in items:
        answer = service.ask(it.question, history=it.history)
        for name, seconds in answer.timings.items():
            stages.setdefault(name, []).append(seconds * 1000)
        if not answer.refused:
            lengths.append(len(answer.text))
    print(f"{len(items)} questions of {args.qa} ({args.split}), extractive, cold query cache")
    for name in ("condense", "retrieve", "pack", "score", "verify", "total"):
        ms = np.array(stages.get(name, [0.0]))
        print(f"  {name:<9} p50 {np.percentile(ms, 50):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms")
    print(f"  answer length (answered): median {int(np.median(lengths))} characters")


if __name__ == "__main__":
    main()
