"""Approvals on a real Windows machine: `codex exec` (which cannot ask) runs the PowerShell and cmd commands that
only read and refuses the others, with the command lines Windows really builds (full paths to pwsh.exe,
powershell.exe and cmd.exe). Skipped elsewhere; the `windows-approvals` CI job sets CODEX_TEST_WINDOWS_LIVE=1,
which turns the skip into a failure there."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

if sys.platform != "win32":
    if os.environ.get("CODEX_TEST_WINDOWS_LIVE") == "1":
        raise RuntimeError("CODEX_TEST_WINDOWS_LIVE=1 needs Windows")
    pytest.skip("needs Windows", allow_module_level=True)

SHELLS = {name: shutil.which(name) for name in ("pwsh", "powershell", "cmd")}


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _outputs(server: FakeResponsesServer) -> dict[str, str]:
    found: dict[str, str] = {}
    for request in server.requests:
        for item in request.body.get("input", []):
            if isinstance(item, dict) and item.get("type") == "function_call_output":
                found[str(item["call_id"])] = str(item["output"])
    return found


@pytest.mark.parametrize(("shell", "safe", "unsafe"), [
    ("pwsh", "Get-ChildItem | Select-Object Name", "Set-Content written.txt data"),
    ("powershell", "Get-Content README.md", "Get-Content README.md > written.txt"),
    ("cmd", "dir", "echo data > written.txt"),
])
def test_exec_runs_read_only_commands_and_refuses_writes(codex_env: CodexEnv, shell: str, safe: str,
                                                         unsafe: str) -> None:
    path = SHELLS[shell]
    if path is None:
        pytest.skip(f"{shell} is not on PATH")
    codex_env.env["SHELL"] = path  # commands run as `<full path> -Command ...` or `<full path> /c ...`
    script = [{"output": [exec_call(safe, "safe"), exec_call(unsafe, "unsafe")]}, {"output": [message("done")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--json", "-s", "workspace-write", "go")
        outputs = _outputs(server)
    assert run.returncode == 0, run.stderr
    assert "Process exited with code 0" in outputs["safe"], outputs["safe"]
    assert "Process exited" not in outputs["unsafe"], outputs["unsafe"]
    assert not (codex_env.workdir / "written.txt").exists()
