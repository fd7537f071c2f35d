"""Any OpenAI-compatible chat endpoint through LangChain, plus the prompt files.

The model is optional: with no ``base_url``/``model`` configured, ``make_chat_model``
returns None and answers are extractive.  Retries are off (``max_retries=0``): a failing
endpoint should fall back to the extractive answer at once, not after minutes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel

from rag.config import LLMConfig
from rag.tokens import ensure_tiktoken_offline

PACKAGE_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


def make_chat_model(cfg: LLMConfig) -> BaseChatModel | None:
    """A streaming ``ChatOpenAI`` for ``cfg``, or None when no LLM is configured."""
    if not cfg.enabled:
        return None
    ensure_tiktoken_offline()  # langchain-openai counts tokens with tiktoken
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=cfg.model,
        base_url=cfg.base_url,
        api_key=cfg.api_key or "sk-local",  # local servers accept any key; the client insists on one
        temperature=cfg.temperature,
        timeout=cfg.timeout,
        max_tokens=cfg.max_tokens,
        max_retries=0,
        streaming=True,
    )


def backend_name(cfg: LLMConfig, llm: BaseChatModel | None) -> str:
    """``extractive`` or ``openai:<model>@<host>`` for display and eval reports."""
    if llm is None:
        return "extractive"
    if cfg.enabled:
        return f"openai:{cfg.model}@{urlparse(cfg.base_url).netloc or cfg.base_url}"
    return f"llm:{getattr(llm, 'model_name', None) or type(llm).__name__}"


def load_prompt(name: str, prompts_dir: str) -> str:
    """``prompts/<name>.md`` from ``prompts_dir``, else from the package's own prompts folder."""
    for folder in (Path(prompts_dir), PACKAGE_PROMPTS):
        path = folder / f"{name}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    raise FileNotFoundError(f"prompt {name}.md not found in {prompts_dir} or {PACKAGE_PROMPTS}")


def fill(template: str, **values: str) -> str:
    """Replace ``{name}`` placeholders; plain replacement, so braces in clauses are harmless."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def describe_error(exc: BaseException, fallback: str = "已改用摘录原文作答") -> str:
    """A short Chinese note naming what went wrong with the LLM call."""
    import openai

    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        kind = "请求超时"
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        kind = "密钥无效或无权限"
    elif isinstance(exc, openai.APIStatusError):
        overflow = any(w in detail.lower() for w in ("context", "too long", "maximum", "token"))
        kind = "上下文超出模型长度" if overflow and exc.status_code in (400, 413) else f"HTTP {exc.status_code} 错误"
    elif isinstance(exc, openai.APIConnectionError):
        kind = "无法连接"
    else:
        kind = "返回内容异常"
    return f"大模型调用失败（{kind}：{detail}），{fallback}。"
