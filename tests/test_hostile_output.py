"""Resource use under a hostile model: commands that print hundreds of megabytes, or are longer than the OS takes.

Real `codex exec` processes against the scripted fake model (127.0.0.1 only). Peak memory is codex's own
high-water mark as the kernel reports it when codex is reaped (`wait4`'s ru_maxrss: the VmHWM of
/proc/<pid>/status at its end), so nothing has to be sampled while it runs. A small Python process starts codex
and reaps it: ru_maxrss also counts the image a child had before its exec, and a child of pytest itself would
report pytest's size.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

from codex_cli import shell  # noqa: E402

HUGE_OUTPUT_BYTES = 300_000_000
PEAK_RSS_LIMIT_BYTES = 120_000_000


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _outputs(body: dict) -> dict[str, object]:
    return {item["call_id"]: item["output"] for item in body["input"] if item.get("type") == "function_call_output"}


# Runs argv[2:] and writes its peak RSS in bytes to the file argv[1]; exits as it did.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)))  # KiB on Linux
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _run_measured(codex_env: CodexEnv, args: list[str], timeout: float) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes, stderr) of one `codex` run; stdout is thrown away as it comes."""
    stderr_path = codex_env.home.parent / "stderr.txt"
    peak_path = codex_env.home.parent / "peak.txt"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", _MEASURE, str(peak_path), *CODEX, *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                cwd=codex_env.workdir, env=codex_env.env, start_new_session=True)
        watchdog = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        watchdog.start()
        try:
            code = proc.wait()
        finally:
            watchdog.cancel()
    return code, int(peak_path.read_text() or 0), stderr_path.read_text(errors="replace")


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs wait4's resource usage")
@pytest.mark.parametrize("mode", ["--json", "human"])
def test_a_command_printing_300_mb_keeps_codex_small(codex_env: CodexEnv, mode: str) -> None:
    cmd = f"head -c {HUGE_OUTPUT_BYTES} /dev/zero | tr '\\0' a"
    script = [{"output": [exec_call(cmd, "big")]}, {"output": [message("done")]}]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        args = ["exec", *([mode] if mode != "human" else []), "-s", "danger-full-access", "go"]
        code, peak, stderr = _run_measured(codex_env, args, timeout=180)
        requests = list(server.requests)
    assert code == 0, stderr[-2000:]
    output = str(_outputs(requests[-1].body)["big"])
    assert "Process exited with code 0" in output
    assert f"Original token count: {HUGE_OUTPUT_BYTES // 4}" in output
    assert "bytes omitted" in output and output.endswith("a" * 100)
    assert peak < PEAK_RSS_LIMIT_BYTES, f"peak RSS {peak / 1e6:.0f} MB"


def test_live_output_stops_at_its_limit_while_all_of_it_is_counted(tmp_path: Path) -> None:
    manager = shell.ProcessManager()
    delivered = [0]

    def on_output(chunk: str) -> None:
        delivered[0] += sys.getsizeof(chunk)

    size = 4 * shell.LIVE_OUTPUT_LIMIT_BYTES
    request = shell.ExecRequest(argv=["/bin/sh", "-c", f"head -c {size} /dev/zero | tr '\\0' a"], cwd=tmp_path,
                                env=dict(os.environ), yield_time_ms=30_000)
    try:
        result = manager.exec_command(request, on_output=on_output)
    finally:
        manager.close()
    assert result.exit_code == 0
    assert result.original_token_count == size // 4
    # Live text a slow reader did not take in time is dropped too, so less may arrive, never more.
    assert 0 < delivered[0] <= shell.LIVE_OUTPUT_LIMIT_BYTES + (1 << 20)


def test_a_command_over_the_argument_limit_is_an_error_for_the_model(codex_env: CodexEnv) -> None:
    huge = "echo " + "a" * 3_000_000  # over ARG_MAX and over Linux's 128 KiB for one argument: execve says E2BIG
    script = [
        {"output": [exec_call(huge, "huge")]},
        {"output": [exec_call("echo after", "after")]},
        {"output": [message("done")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--json", "-s", "workspace-write", "go", stdin=subprocess.DEVNULL, timeout=60)
        requests = list(server.requests)
    assert run.returncode == 0, run.stderr[-2000:]
    outputs = _outputs(requests[-1].body)
    assert "Argument list too long" in str(outputs["huge"])
    assert "Process exited with code 0" in str(outputs["after"]) and "after" in str(outputs["after"])
    assert [e["type"] for e in run.events()][-1] == "turn.completed"


def test_input_for_a_terminal_that_never_reads_does_not_hang_the_turn(codex_env: CodexEnv) -> None:
    """A program that puts its terminal in raw mode and stops reading: 3 MB written to it used to block codex in
    os.write for good (interrupts included). The write now goes on in the background; the turn goes on."""
    from fake_responses import function_call

    script = [
        {"output": [exec_call("stty raw -echo; echo ready; sleep 30", "t", tty=True, yield_time_ms=1000)]},
        lambda request: {"output": [function_call("write_stdin", {
            "session_id": int(str(_outputs(request.body)["t"]).split("session ID ", 1)[1].split()[0]),
            "chars": "x" * 3_000_000, "yield_time_ms": 500}, "w")]},
        {"output": [message("done")]},
    ]
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = subprocess.run([*CODEX, "exec", "--json", "-s", "danger-full-access", "go"], cwd=codex_env.workdir,
                             env=codex_env.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=60, check=False)
        outputs = _outputs(server.requests[-1].body)
    assert run.returncode == 0, run.stderr
    assert "ready" in str(outputs["t"])
    assert "Process running with session ID" in str(outputs["w"]), outputs["w"]
