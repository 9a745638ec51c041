"""Running the real `codex` CLI in a subprocess against the fake model, with an isolated CODEX_HOME."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODEX = [sys.executable, str(ROOT / "codex.py")]

# Variables of the developer's machine that would change what the CLI does.
_SCRUBBED = (
    "OPENAI_API_KEY", "CODEX_API_KEY", "CODEX_HOME", "OPENAI_BASE_URL", "CODEX_CA_CERTIFICATE",
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy",
    "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CODEX_LOG", "RUST_LOG",
)


@dataclass
class CodexRun:
    returncode: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@dataclass
class CodexEnv:
    """A CODEX_HOME with a config.toml that points at a fake provider, and a git work dir."""

    home: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def write_config(self, base_url: str, extra: str = "", provider_extra: str = "") -> None:
        (self.home / "config.toml").write_text(
            'model = "gpt-5.5"\n'
            'model_provider = "mock"\n'
            f"{extra}\n"
            "[model_providers.mock]\n"
            'name = "mock"\n'
            f'base_url = "{base_url}"\n'
            'env_key = "MOCK_API_KEY"\n'
            "request_max_retries = 2\n"
            "stream_max_retries = 1\n"
            f"{provider_extra}\n",
            encoding="utf-8",
        )

    def run(
        self,
        *args: str,
        input: str | bytes | None = None,
        timeout: float = 60,
        cwd: Path | None = None,
        stdin: int | None = None,
    ) -> CodexRun:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [*CODEX, *args],
            input=data,
            stdin=stdin if data is None else None,
            capture_output=True,
            cwd=cwd or self.workdir,
            env=self.env,
            timeout=timeout,
        )
        return CodexRun(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def make_codex_env(tmp_path: Path) -> CodexEnv:
    home = tmp_path / "codex_home"
    home.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    subprocess.run(["git", "init", "-q", str(workdir)], check=True)
    (workdir / "README.md").write_text("hello\n", encoding="utf-8")
    # A HOME of its own keeps the developer's login profile (pyenv rehash locks, prompts) out of model commands.
    user_home = tmp_path / "home"
    user_home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update({"CODEX_HOME": str(home), "MOCK_API_KEY": "test-key", "PYTHONPATH": str(ROOT), "HOME": str(user_home)})
    return CodexEnv(home, workdir, env)


def codex_rs_binary() -> str | None:
    """The codex-rs 0.169 binary that tests compare against: `$CODEX_RS_BIN`, `codex-rs` on PATH, or the npm
    package unpacked under /tmp/oracle; None when there is none (those tests are skipped)."""
    candidates = [os.environ.get("CODEX_RS_BIN", ""), shutil.which("codex-rs") or ""]
    candidates += sorted(glob.glob("/tmp/oracle/node_modules/@openai/codex*/vendor/*/bin/codex"))
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)
