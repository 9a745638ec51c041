"""Debug logging (`codex_cli.logs`): the CODEX_LOG switch (RUST_LOG as the fallback) appends to
`$CODEX_HOME/log/codex.log`, private to its owner, with secrets redacted; without it nothing is written and the
terminal output does not change."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CodexEnv, CodexRun, make_codex_env
from fake_responses import message

from codex_cli.logs import log_filter, parse_filter

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "mock-key-Zq81xY7vB3"  # matches no token pattern: only the env-value redaction can hide it
SESSION_LINE = re.compile(r"^session id: .*$", re.M)


def _exec(codex_env: CodexEnv, fake_server: Callable[..., Any], **switch: str) -> CodexRun:
    server = fake_server([{"output": [message("done")]}])
    codex_env.write_config(server.base_url)
    codex_env.env.update(switch, MOCK_API_KEY=API_KEY)
    return codex_env.run("exec", "say done", stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("switch", [{"CODEX_LOG": "debug"}, {"RUST_LOG": "httpcore=debug,codex_cli=info"}],
                         ids=["CODEX_LOG", "RUST_LOG"])
def test_exec_with_the_switch_appends_debug_lines_to_a_private_log_without_the_key(
        tmp_path: Path, fake_server: Callable[..., Any], switch: dict[str, str]) -> None:
    codex_env = make_codex_env(tmp_path)
    quiet = _exec(codex_env, fake_server)
    assert not (codex_env.home / "log").exists()
    logged = _exec(codex_env, fake_server, **switch)
    assert logged.returncode == 0, logged.stderr
    log = codex_env.home / "log" / "codex.log"
    text = log.read_text(encoding="utf-8")
    assert " DEBUG httpcore." in text and " INFO codex_cli " in text
    assert API_KEY not in text
    if os.name == "posix":
        assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
    # The terminal output is the same as without the switch (but for the thread's id).
    assert logged.stdout == quiet.stdout == "done\n"
    assert SESSION_LINE.sub("", logged.stderr) == SESSION_LINE.sub("", quiet.stderr)
    again = _exec(codex_env, fake_server, **switch)
    assert again.returncode == 0 and log.read_text(encoding="utf-8").startswith(text)  # appended


def test_exec_without_the_switch_makes_no_log(tmp_path: Path, fake_server: Callable[..., Any]) -> None:
    codex_env = make_codex_env(tmp_path)
    run = _exec(codex_env, fake_server, CODEX_LOG="", RUST_LOG="")
    assert run.returncode == 0, run.stderr
    assert not (codex_env.home / "log").exists()
    assert "DEBUG" not in run.stderr and "httpx" not in run.stderr


# Configures logging in a fresh interpreter, logs what a careless module might, and prints the log file.
_REDACTION_DRIVER = """
import logging, os, sys
from pathlib import Path
from codex_cli.logs import start_logging
path = start_logging(os.environ, Path(sys.argv[1]), command="test")
log = logging.getLogger("codex_cli.test")
log.debug("request headers: [(b'authorization', b'Bearer abc.def-123'), (b'x-api-key', b'plainvalue')]")
log.debug('refresh body {"refresh_token": "rt_1234567890", "client_id": "app_x"}')
log.debug("env key %s, jwt eyJhbGciOi.eyJzdWIiOiIxIn0.c2ln, openai sk-proj-ABCDEFGH12345678", os.environ["MY_API_KEY"])
log.debug("url https://mcp.example/stream?api_key=qwerty123&x=1")
logging.getLogger("noisy").info("not enabled")
sys.stdout.write(path.read_text(encoding="utf-8"))
"""


def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODEX_LOG": "codex_cli=debug", "MY_API_KEY": "hunter2-hunter2"}
    proc = subprocess.run([sys.executable, "-c", _REDACTION_DRIVER, str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # nothing on the terminal
    text = proc.stdout
    for secret in ("abc.def-123", "plainvalue", "rt_1234567890", "hunter2", "eyJhbGciOi", "sk-proj", "qwerty123"):
        assert secret not in text, text
    assert "(b'authorization', b'[REDACTED]" in text and "app_x" in text and "x=1" in text
    assert "not enabled" not in text  # loggers no directive names keep WARNING


@pytest.mark.parametrize(("spec", "parsed"), [
    ("debug", (10, {})),
    ("codex_cli=debug,httpx=info", (None, {"codex_cli": 10, "httpx": 20})),
    ("warn, codex_cli::auth=trace", (30, {"codex_cli.auth": 10})),
    ("codex_cli", (None, {"codex_cli": 10})),
    ("httpx=loud,=debug,", (None, {})),
    ("OFF", (60, {})),
])
def test_parse_filter_reads_rust_log_directives(spec: str, parsed: tuple[int | None, dict[str, int]]) -> None:
    assert parse_filter(spec) == parsed


def test_codex_log_wins_over_rust_log() -> None:
    assert log_filter({"CODEX_LOG": "info", "RUST_LOG": "debug"}) == "info"
    assert log_filter({"CODEX_LOG": " ", "RUST_LOG": "debug"}) == "debug"
    assert log_filter({}) == ""
