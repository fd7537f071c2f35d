import pytest

from rag.config import Config, ConfigError, load_config


def test_defaults_file_env_precedence(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('corpus = "x"\n[retrieve]\nk = 7\n[llm]\nmodel = "from-file"\n', encoding="utf-8")
    cfg = load_config(f, env={"POLICY_RAG_RETRIEVE_K": "9", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert cfg.corpus == "x"
    assert cfg.retrieve.k == 9  # env beats file
    assert cfg.llm.model == "from-file" and cfg.llm.base_url == "http://127.0.0.1:1/v1"
    assert cfg.llm.enabled
    assert Config().llm.enabled is False


def test_bad_config_names_the_file_and_field(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[retrieve]\nkk = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml \[retrieve\]: unknown setting 'kk'"):
        load_config(f, env={})
    with pytest.raises(ConfigError, match=r"environment.k: expected int"):
        load_config(None, env={"POLICY_RAG_RETRIEVE_K": "many"})
