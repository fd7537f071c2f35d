"""The Gradio chat: a thin front end over ``rag.service.Service``.

It holds no pipeline logic: questions go to ``service.stream``, uploads to
``service.add_uploads``, filters, neighbours, feedback and status to the service too, and what comes back (``Answer``/``Citation``/``AddReport``) is only
formatted (``ui.render``).  Per-browser-session state (the conversation as plain text, for
condensing follow-ups, and the answers, for feedback) lives in ``gr.State``; nothing is
global, so several apps (tests) can run in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.config import Config
from rag.records import Answer, Chunk
from rag.service import ALL, AddReport
from ui import render

if TYPE_CHECKING:
    from rag.service import Service

log = logging.getLogger(__name__)

CONTEXT_NEIGHBOURS = 1
# Questions answerable from the bundled sample corpus (data/corpus).
EXAMPLES = (
    "杭州的“算力券”按什么比例给予补贴？",
    "2022年浙江省软件业务收入是多少？",
    "个体工商户转型升级为企业有哪些支持政策？",
    "重点新材料首批次应用保险补偿机制试点的申报条件是什么？",
    "低效工业用地整治的目标是什么？",
    "2023年度高新技术企业申报工作有哪些要求？",
)
# System fonts only: a GoogleFont would make every browser fetch from the internet.
FONTS = ("PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "sans-serif")

Turn = dict[str, Any]  # {"question", "answer_text", "answer": Answer.to_dict()}


def status_markdown(service: Service) -> str:
    """Backend and index status for the side panel."""
    s = service.status()
    backend = service.backend
    kind = "摘录原文（未配置大模型）" if backend == "extractive" else f"大模型 `{backend}`"
    emb = s.get("embedder") or {}
    emb_text = f"`{emb.get('id')}`（{emb.get('dim')} 维）" if isinstance(emb, dict) else f"`{emb}`"
    return (
        f"**回答方式**：{kind}  \n"
        f"**索引**：{s.get('documents', 0)} 份文件 · {s.get('chunks', 0)} 个条款  \n"
        f"**向量模型**：{emb_text}"
    )


def _contexts(service: Service, answer: Answer) -> dict[str, Sequence[Chunk]]:
    """Each cited clause with its neighbours, for the expanded card; the clause alone if that fails."""
    out: dict[str, Sequence[Chunk]] = {}
    for cite in answer.citations:
        try:
            out[cite.chunk.chunk_id] = service.neighbours(cite.chunk, CONTEXT_NEIGHBOURS)
        except Exception:  # display only: a missing neighbour never breaks an answer
            log.exception("neighbours failed for %s", cite.chunk.chunk_id)
            out[cite.chunk.chunk_id] = [cite.chunk]
    return out


def _choices(service: Service) -> tuple[list[str], list[str], list[str]]:
    c = service.filter_choices()
    return [ALL, *c.titles], [ALL, *c.issuers], [ALL, *c.years]


def build_app(service: Service, cfg: Config) -> gr.Blocks:
    """The whole page; every handler closes over ``service`` (opened once by the caller)."""
    titles, issuers, years = _choices(service)

    def respond(
        message: str, chat: list[dict[str, Any]], turns: list[Turn], title: str, issuer: str, year: str
    ) -> Iterator[tuple[list[dict[str, Any]], str, list[Turn]]]:
        """Stream one answer into the chat, then replace it with the formatted, cited answer."""
        question = (message or "").strip()
        if not question:
            yield chat, "", turns
            return
        chat = [*chat, {"role": "user", "content": question}, {"role": "assistant", "content": "正在检索…"}]
        yield chat, "", turns
        history = [(t["question"], t["answer_text"]) for t in turns]
        text, answer = "", None
        try:
            for item in service.stream(question, history, service.filters(title, issuer, year), None):
                if isinstance(item, Answer):
                    answer = item
                    break
                text += item
                chat[-1] = {"role": "assistant", "content": render.answer_text_html(text, ())}
                yield chat, "", turns
            if answer is None:
                raise RuntimeError("回答流程没有返回结果")
            html = render.answer_html(answer, _contexts(service, answer), date.today())
        except Exception as exc:  # shown in the chat; the session stays usable
            log.exception("answer failed")
            chat[-1] = {"role": "assistant", "content": render.error_html(str(exc) or type(exc).__name__)}
            yield chat, "", [*turns, {"question": question, "answer_text": "", "answer": None}]
            return
        chat[-1] = {"role": "assistant", "content": html}
        yield chat, "", [*turns, {"question": question, "answer_text": answer.text, "answer": answer.to_dict()}]

    def on_feedback(turns: list[Turn], data: gr.LikeData) -> None:
        """👍/👎 on an answer: one JSON line in index/feedback/<name>.jsonl."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn_no = int(index) // 2
        if data.liked is None or turn_no >= len(turns) or not turns[turn_no].get("answer"):
            return
        liked = data.liked if isinstance(data.liked, bool) else str(data.liked).lower() in {"like", "true", "👍"}
        ans = turns[turn_no]["answer"]
        service.feedback({
            "question": turns[turn_no]["question"],
            "answer": ans["text"],
            "citations": [{k: c[k] for k in ("n", "chunk_id", "title", "doc_number", "heading_path", "quote")}
                          for c in ans["citations"]],
            "rating": "up" if liked else "down",
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        gr.Info("感谢反馈，已记录。", duration=3)

    def add_files(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        """Upload → ingest → embed → add, with a progress bar; refused files are listed with the reason."""
        uploads = [Path(f if isinstance(f, str) else getattr(f, "name", str(f))) for f in (files or [])]
        if not uploads:
            report_html = render.add_report_html((), ("请先选择文件（" + " / ".join(cfg.ingest.extensions) + "）",), 0, 0)
        else:
            try:
                rep = service.add_uploads(uploads, lambda frac, msg: progress(frac, desc=msg))
            except Exception as exc:  # noqa: BLE001 - any failure is shown with its reason; the store is unchanged
                rep = AddReport(errors=(f"添加失败：{type(exc).__name__}: {exc}",))
            report_html = render.add_report_html(rep.files_ok, rep.errors, rep.documents_added, rep.chunks_added,
                                                 rep.replaced)
        return (report_html, None, *refresh())

    def refresh() -> tuple[Any, ...]:
        """Status and filter choices as they are now (another session may have added files)."""
        t, i, y = _choices(service)
        return status_markdown(service), gr.update(choices=t), gr.update(choices=i), gr.update(choices=y)

    def clear() -> tuple[list[Any], str, list[Turn]]:
        return [], "", []

    with gr.Blocks(title="政策文件问答", analytics_enabled=False) as app:
        turns = gr.State([])
        gr.Markdown("## 政策文件问答\n根据已收录的政策文件作答，并逐条标注引用出处；找不到依据时会明确说明。")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="对话", height=680, elem_id="prag-chat", sanitize_html=True,
                    feedback_options=("Like", "Dislike"), placeholder="请输入关于政策文件的问题，例如补贴标准、申报条件、有效期等。",
                    buttons=["copy"],
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="输入问题，按回车发送", show_label=False, scale=5,
                                     elem_id="prag-question", autofocus=True)
                    send = gr.Button("发送", variant="primary", scale=1, elem_id="prag-send")
            with gr.Column(scale=1, min_width=280):
                status = gr.Markdown(status_markdown(service), elem_id="prag-status")
                with gr.Accordion("筛选", open=True):
                    f_title = gr.Dropdown(titles, value=ALL, label="文件", elem_id="prag-filter-doc")
                    f_issuer = gr.Dropdown(issuers, value=ALL, label="发文机关", elem_id="prag-filter-issuer")
                    f_year = gr.Dropdown(years, value=ALL, label="年份", elem_id="prag-filter-year")
                gr.Examples(list(EXAMPLES), inputs=box, label="示例问题")
                clear_btn = gr.Button("清空对话", elem_id="prag-clear")
                with gr.Accordion("添加文件", open=True):
                    files = gr.File(label="上传政策文件（" + " / ".join(cfg.ingest.extensions) + "）",
                                    file_count="multiple", file_types=list(cfg.ingest.extensions),
                                    elem_id="prag-upload")
                    add_btn = gr.Button("添加到索引", elem_id="prag-add")
                    add_result = gr.HTML(elem_id="prag-add-result")

        chat_inputs = [box, chat, turns, f_title, f_issuer, f_year]
        chat_outputs = [chat, box, turns]
        box.submit(respond, chat_inputs, chat_outputs, api_name="chat", concurrency_id="answer")
        send.click(respond, chat_inputs, chat_outputs, api_visibility="private", concurrency_id="answer")
        chat.like(on_feedback, turns, None, api_visibility="private")
        clear_btn.click(clear, None, [chat, box, turns], api_visibility="private")
        # clear the old report first, so a repeated identical report still shows as new
        add_btn.click(lambda: "", None, add_result, api_visibility="private", queue=False).then(
            add_files, files, [add_result, files, status, f_title, f_issuer, f_year],
            api_name="add_files", concurrency_limit=1)
        app.load(refresh, None, [status, f_title, f_issuer, f_year], api_visibility="private")
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, *, concurrency: int = 4,
           block: bool = True, auth: list[tuple[str, str]] | None = None) -> None:
    """Queue + launch with the offline settings: no share link, no analytics, system fonts only.

    ``concurrency`` answers run at once (the embedder is lock-guarded, so more would only
    queue inside it); the rest wait in Gradio's queue.  ``block=False`` returns once serving.
    """
    app.queue(default_concurrency_limit=concurrency, max_size=256)
    # Gradio picks its own strings by the browser's language; the page is Chinese whatever the browser says.
    chinese = {"upload_text.drop_file": "将文件拖放到此处", "upload_text.click_to_upload": "点击选择文件",
               "common.or": "或", "common.clear": "清除", "common.remove": "移除", "common.submit": "提交",
               "common.flag": "标记", "common.loading": "加载中", "common.error": "出错了",
               "errors.connection_can_break": "连接中断", "upload_text.paste_clipboard": "从剪贴板粘贴"}
    app.launch(
        i18n=gr.I18n(**{locale: chinese for locale in ("en", "en-US", "zh-CN", "zh", "zh-TW")}),
        server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=not block, auth=auth,
        theme=gr.themes.Default(font=list(FONTS)), css=render.CSS, show_error=False,
        enable_monitoring=False, mcp_server=False, ssr_mode=False, pwa=False,
        footer_links=["api"],
    )
