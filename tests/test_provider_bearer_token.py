"""A provider's `experimental_bearer_token` end to end: the Authorization header it gives model requests (in the
order codex-rs 0.169 follows: env_key, then the token, then the OpenAI login), from config.toml or `-c`, and the
token kept out of everything the CLI prints or writes (exec output, rollouts, doctor, error text)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_harness import CodexEnv, CodexRun, make_codex_env
from fake_responses import FakeResponsesServer, message

TOKEN = "tok-VERY-SECRET-4711"


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    del env.env["MOCK_API_KEY"]
    return env


def _config(env: CodexEnv, base_url: str, provider: str) -> None:
    (env.home / "config.toml").write_text(
        f'model = "gpt-5.5"\nmodel_provider = "mock"\n\n[model_providers.mock]\nname = "mock"\n'
        f'base_url = "{base_url}"\nrequest_max_retries = 0\nstream_max_retries = 0\n{provider}\n',
        encoding="utf-8",
    )


def _exec(env: CodexEnv, provider: str, *args: str, script: list[dict[str, object]] | None = None,
          ) -> tuple[CodexRun, list[str | None]]:  # fmt: skip
    with FakeResponsesServer(script or [{"output": [message("done")]}]) as server:
        _config(env, server.base_url, provider)
        run = env.run("exec", *args, "hi", stdin=subprocess.DEVNULL)
        return run, [r.headers.get("authorization") for r in server.response_requests]


def _written(env: CodexEnv) -> str:
    """Every file the runs left under CODEX_HOME except config.toml (rollouts, history, logs)."""
    files = [p for p in env.home.rglob("*") if p.is_file() and p.name != "config.toml"]
    return "".join(p.read_text(errors="replace") for p in files)


def test_config_token_is_sent_and_stays_out_of_output_and_rollouts(codex_env: CodexEnv) -> None:
    run, auth = _exec(codex_env, f'experimental_bearer_token = "{TOKEN}"', "--json")
    assert run.returncode == 0, run.stderr
    assert auth == [f"Bearer {TOKEN}"]
    assert TOKEN not in run.stdout + run.stderr + _written(codex_env)


def test_cli_override_sets_the_token(codex_env: CodexEnv) -> None:
    run, auth = _exec(codex_env, "", "-c", f"model_providers.mock.experimental_bearer_token={TOKEN}")
    assert run.returncode == 0, run.stderr
    assert auth == [f"Bearer {TOKEN}"]
    assert TOKEN not in run.stdout + run.stderr


def test_env_key_wins_over_the_token_and_the_token_over_the_openai_login(codex_env: CodexEnv) -> None:
    codex_env.env.update({"MYKEY": "from-env", "CODEX_API_KEY": "sk-codex", "OPENAI_API_KEY": "sk-openai"})
    run, auth = _exec(codex_env, f'experimental_bearer_token = "{TOKEN}"\nenv_key = "MYKEY"')
    assert (run.returncode, auth) == (0, ["Bearer from-env"])
    run, auth = _exec(codex_env, f'experimental_bearer_token = "{TOKEN}"\nrequires_openai_auth = true')
    assert (run.returncode, auth) == (0, [f"Bearer {TOKEN}"])
    del codex_env.env["MYKEY"]
    run, auth = _exec(codex_env, f'experimental_bearer_token = "{TOKEN}"\nenv_key = "MYKEY"')
    assert (run.returncode, auth) == (1, [])
    assert "Missing environment variable: `MYKEY`" in run.stderr and TOKEN not in run.stderr


def test_rejected_token_is_not_in_the_error(codex_env: CodexEnv) -> None:
    body = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}}
    run, auth = _exec(codex_env, f'experimental_bearer_token = "{TOKEN}"', "--json",
                      script=[{"status": 401, "body": body}])  # fmt: skip
    assert run.returncode == 1 and auth
    assert TOKEN not in run.stdout + run.stderr + _written(codex_env)


def test_token_that_cannot_be_a_header_is_left_out_without_showing_it(codex_env: CodexEnv) -> None:
    # codex-rs 0.169 sends no Authorization header for such a token; an HTTP library error would quote it.
    run, auth = _exec(codex_env, f'experimental_bearer_token = "{TOKEN}\\nX-Injected: 1"')
    assert (run.returncode, auth) == (0, [None])
    assert TOKEN not in run.stdout + run.stderr
    run, auth = _exec(codex_env, 'experimental_bearer_token = "  tök  "')
    assert auth == ["Bearer   tÃ¶k"]  # UTF-8 on the wire (the server decodes Latin-1); trailing blanks dropped


def test_doctor_names_the_token_source_not_the_token(codex_env: CodexEnv) -> None:
    _config(codex_env, "http://127.0.0.1:9/v1", f'experimental_bearer_token = "{TOKEN}"')
    run = codex_env.run("doctor", stdin=subprocess.DEVNULL, timeout=120)
    assert "experimental_bearer_token" in run.stdout + run.stderr
    assert TOKEN not in run.stdout + run.stderr
