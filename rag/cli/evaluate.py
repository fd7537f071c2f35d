"""``policy-rag eval``: run a Q&A set through the pipeline and the baselines, report, gate.

Exit status: 0 ok, 1 when ``--check`` finds a metric degraded beyond its tolerance, 2 for
unusable input (bad Q&A file, no index, ``--backend llm`` without an LLM configured).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rag.config import Config, LLMConfig
from rag.evaluation.qaset import QAItem, QASetError, load_qa, validate

SYSTEMS = ("pipeline", "bm25", "dense", "langchain")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="evaluate retrieval, answers and refusals on a Q&A set",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--qa", nargs="+", default=["eval/qa.jsonl"],
                   help="Q&A set(s), one JSON object per line, run as one set (default: eval/qa.jsonl)")
    p.add_argument("--backend", choices=("auto", "extractive", "llm"), default="auto",
                   help="answer backend; auto = llm when one is configured, else extractive")
    p.add_argument("--out", help="write the full report JSON here")
    p.add_argument("--html", help="write the HTML report (tables + plots) here")
    p.add_argument("--check", action="store_true", help="fail (exit 1) when a metric drops beyond its tolerance")
    p.add_argument("--baseline", default="eval/baseline.json", help="accepted metrics for --check")
    p.add_argument("--write-baseline", metavar="FILE", help="accept this run's metrics: write them to FILE")
    p.add_argument("-k", type=int, default=10, help="retrieval depth scored (hit@k, MRR@10; default 10); also caps the answer's retrieve.k")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--systems", default=",".join(SYSTEMS),
                   help=f"comma-separated subset of {','.join(SYSTEMS)} (pipeline always runs first)")
    p.add_argument("--retrieval-only", action="store_true",
                   help="score retrieval only (fast): no answers, so answer and refusal metrics are not compared")
    p.add_argument("--judge", action="store_true", help="LLM-as-judge faithfulness of answer sentences (needs an LLM)")
    p.add_argument("--split", choices=("dev", "test"),
                   help="only the items of this split (items without a split are kept); tune on dev, report on test")
    p.add_argument("--fit-answerability", metavar="FILE", nargs="?", const="rag/answer/answerability.json",
                   help="fit the answerability model on the DEV split of --qa and write it to FILE "
                        "(default rag/answer/answerability.json), then stop")
    p.add_argument("--corpus", help="corpus folder for the Q&A evidence check and the LangChain baseline "
                                    "(default: the configured corpus)")
    p.add_argument("--store", metavar="BACKEND[,BACKEND]", dest="stores",
                   help="store backend(s) the pipeline runs on (faiss, milvus); a second one is scored beside the "
                        "first in the same run as pipeline@<backend>, for parity checks")
    p.set_defaults(func=handler)


def _fail(message: str) -> int:
    print(f"policy-rag eval: {message}", file=sys.stderr)
    return 2


def handler(args: argparse.Namespace, cfg: Config) -> int:
    corpus = args.corpus or cfg.corpus
    items: list[QAItem] = []
    for qa in args.qa:
        try:
            items += load_qa(qa)
        except (OSError, QASetError) as exc:
            return _fail(f"cannot use {qa}: {exc}")
        problems = validate(qa, corpus) if Path(corpus).is_dir() else []
        if problems:
            print(f"warning: {len(problems)} evidence problem(s) of {qa} against {corpus} (first: {problems[0]}); "
                  "retrieval metrics of those items are unreliable", file=sys.stderr)
    repeated = sorted(i for i, n in Counter(it.id for it in items).items() if n > 1)
    if repeated:
        return _fail(f"the Q&A sets {' '.join(args.qa)} share item id(s) {repeated[:5]}")
    if args.fit_answerability:
        args.split = "dev"  # the model is fitted on dev only, whatever was asked
    items = [it for it in items if not args.split or it.split in ("", args.split)]
    items = items[: args.limit] if args.limit else items
    if not items:
        return _fail(f"{' '.join(args.qa)} has no questions")
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SYSTEMS))
    if unknown:
        return _fail(f"unknown system(s) {unknown}; choose from {', '.join(SYSTEMS)}")
    if args.k < 1:
        return _fail("-k must be at least 1")

    stores = [b.strip() for b in (args.stores or cfg.store.backend).split(",") if b.strip()]
    if not stores or set(stores) - {"faiss", "milvus"}:
        return _fail(f"--store {args.stores!r}: use faiss, milvus or faiss,milvus")
    cfg = cfg.replace("store", backend=stores[0])
    args.other_stores = stores[1:]

    backend = "llm" if args.backend == "auto" and cfg.llm.enabled else args.backend
    if backend == "llm" and not cfg.llm.enabled:
        return _fail("--backend llm needs an LLM: set [llm] base_url and model, or OPENAI_BASE_URL/OPENAI_MODEL")
    if args.judge and not cfg.llm.enabled:
        return _fail("--judge needs an LLM endpoint configured")
    judge_llm = cfg.llm
    if backend == "extractive":
        cfg = cfg.replace("llm", base_url="", model="")
    cfg = cfg.replace("retrieve", k=min(cfg.retrieve.k, args.k))

    return _run(args, cfg, items, corpus, [s for s in SYSTEMS if s == "pipeline" or s in wanted], judge_llm, backend)


def _run(args: argparse.Namespace, cfg: Config, items: list[QAItem], corpus: str, systems: list[str],
         judge_llm: LLMConfig, backend: str) -> int:
    """Open the service, build the systems, run, write reports, apply the gate; the exit status."""
    from rag.evaluation.assemble import build_systems, fit_answerability, make_judge, pipeline_on
    from rag.evaluation.report import check, html_report, make_baseline, markdown_summary
    from rag.evaluation.runner import run_eval
    from rag.service import Service
    from rag.store import StoreError, StoreMismatchError, StoreNotFoundError

    started = time.perf_counter()
    try:
        service = Service.open(cfg, progress=True)
    except (StoreNotFoundError, StoreMismatchError, StoreError) as exc:
        return _fail(f"cannot open the {cfg.store.backend} store: {exc}")
    if args.fit_answerability:
        model = fit_answerability(service, items, " ".join(args.qa))
        if model is None:
            return _fail("--fit-answerability needs answerable and unanswerable items in the dev split")
        _write(args.fit_answerability, model.to_json())
        print(json.dumps({"answer_above": model.answer_above,
                          "llm_floor": model.llm_floor,
                          **model.fitted_on["dev"], **model.weights},
                         ensure_ascii=False, indent=1))
        return 0
    runners, meta = build_systems(service, corpus, systems, args.k, args.retrieval_only)
    for other in args.other_stores:
        try:
            runners.insert(1, pipeline_on(Service.open(cfg.replace("store", backend=other), progress=True), args.k,
                                          args.retrieval_only, name=f"pipeline@{other}"))
        except (StoreNotFoundError, StoreMismatchError, StoreError) as exc:
            return _fail(f"cannot open the {other} store: {exc}")
    meta |= {"qa": " ".join(args.qa), "split": args.split or "all"}
    judge = make_judge(judge_llm) if args.judge else None
    result = run_eval(items, runners, judge=judge, progress=True, meta=meta)
    report = result.to_dict()
    report["meta"]["elapsed_s"] = round(time.perf_counter() - started, 2)

    gate = None
    if args.check:
        try:
            baseline = json.loads(Path(args.baseline).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            return _fail(f"--check: cannot read baseline {args.baseline}: {exc}")
        gate = check(report, baseline)
        report["gate"] = {"passed": gate.passed, "regressions": [str(r) for r in gate.regressions],
                          "notes": gate.notes, "baseline": args.baseline}
    if args.out:
        _write(args.out, json.dumps(report, ensure_ascii=False, indent=1))
    if args.html:
        _write(args.html, html_report(report, gate))
    if args.write_baseline:
        flags = ["--limit", str(args.limit)] if args.limit else []
        flags += ["--systems", ",".join(systems)] if len(systems) < len(SYSTEMS) else []
        flags += ["--retrieval-only"] if args.retrieval_only else []
        flags += ["--split", args.split] if args.split else []
        command = "policy-rag " + shlex.join(["eval", "--qa", *args.qa, "--backend", backend, "-k", str(args.k),
                                              *flags, "--write-baseline", args.write_baseline])
        _write(args.write_baseline, json.dumps(make_baseline(report, command), ensure_ascii=False, indent=2) + "\n")
    print(markdown_summary(report))
    if gate is None:
        return 0
    print(gate.describe())
    return 0 if gate.passed else 1


def _write(path: str, text: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
