"""``policy-rag serve``: the Gradio chat on one opened ``Service``.

Gradio is imported only here (lazily), so other commands never pay for it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Config
from rag.progress import heartbeat

if TYPE_CHECKING:  # imported when serving starts: it loads the embedder's stack
    from rag.service import Service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="open the Gradio chat (Chinese UI) on a local port")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--concurrency", type=int, default=4,
                   help="answers computed at once; further requests wait in the queue (default 4)")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help="require this login (also POLICY_RAG_AUTH, or --auth-file); needed to bind beyond loopback")
    p.add_argument("--auth-file", metavar="FILE", help="file with one USER:PASSWORD line per account")
    p.add_argument("--insecure", action="store_true", help="allow binding beyond loopback without a login")
    p.set_defaults(func=serve)


def credentials(args: argparse.Namespace, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Logins from --auth, POLICY_RAG_AUTH and --auth-file; raises ValueError naming a malformed entry."""
    entries: list[tuple[str, str]] = []
    sources = [("--auth", args.auth), ("POLICY_RAG_AUTH", env.get("POLICY_RAG_AUTH"))]
    if args.auth_file:
        try:
            lines = Path(args.auth_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"--auth-file {args.auth_file}: {exc.strerror or exc}") from exc
        sources += [(f"{args.auth_file}:{i}", line) for i, line in enumerate(lines, 1) if line.strip()]
    for where, value in sources:
        if not value:
            continue
        user, sep, password = value.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError(f"{where}: expected USER:PASSWORD")
        entries.append((user, password))
    return entries


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def bind_problem(host: str, logins: list[tuple[str, str]], insecure: bool) -> str | None:
    """Why ``host`` may not be served as asked, or None: beyond loopback needs a login or --insecure."""
    if is_loopback(host) or logins or insecure:
        return None
    return (f"policy-rag serve: refusing to bind {host} without a login: anyone who can reach it could use the chat "
            "and upload files.\nGive --auth USER:PASSWORD (or POLICY_RAG_AUTH, or --auth-file FILE), "
            "or --insecure to serve it open anyway.")


def _warm(service: Service) -> None:
    """Warm the service (:meth:`rag.service.Service.warm`); a failure only means the first question loads it all."""
    try:
        service.warm()
    except Exception as exc:  # noqa: BLE001  a warm-up must never take the server down
        print(f"policy-rag serve: warm-up skipped ({type(exc).__name__}: {exc})", file=sys.stderr, flush=True)


def serve(args: argparse.Namespace, cfg: Config) -> int:
    """Open the index once, build the page, serve until interrupted."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        logins = credentials(args, os.environ)
    except ValueError as exc:
        print(f"policy-rag serve: {exc}", file=sys.stderr)
        return 2
    problem = bind_problem(args.host, logins, args.insecure)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not logins:
        print(f"policy-rag serve: warning: serving {args.host} with no login (--insecure)", file=sys.stderr)
    print(f"policy-rag serve: loading the embedder and the {cfg.store.backend} store …", flush=True)
    from rag.store import StoreError, StoreMismatchError, StoreNotFoundError

    try:
        with heartbeat("policy-rag serve: loading the store"):  # imports included: seconds in a fresh venv
            from rag.service import Service

            service = Service.open(cfg)
    except (StoreNotFoundError, StoreMismatchError, StoreError) as exc:
        print(f"policy-rag serve: {exc}\n(`make demo` ingests data/corpus, builds the index and starts the chat)",
              file=sys.stderr)
        return 1
    print("policy-rag serve: loading the web framework (gradio) …", flush=True)
    with heartbeat("policy-rag serve: loading gradio"):  # seconds in a fresh venv, which has no bytecode yet
        from ui.app import build_app, launch

    print(f"policy-rag: {service.status()['documents']} documents, answering with {service.backend}", flush=True)
    print("policy-rag serve: building the chat page and starting the web server …", flush=True)
    with heartbeat("policy-rag serve: building the page"):
        app = build_app(service, cfg)
    print(f"policy-rag serve: open http://{args.host}:{args.port}/", flush=True)
    threading.Thread(target=_warm, args=(service,), name="warm-up", daemon=True).start()  # while the page loads
    launch(app, args.host, args.port, concurrency=args.concurrency, auth=logins or None)
    return 0
