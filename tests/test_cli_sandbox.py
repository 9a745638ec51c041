"""The sandbox seen through the real CLI: `codex exec -s workspace-write` (acceptance B2), `codex sandbox` and
`codex debug landlock` (B3), the Windows path without OS confinement (faked with CODEX_SANDBOX_TEST_PLATFORM),
and the placeholder directories for missing protected names (left by SIGKILL, removed by the next run, never in
/tmp or $TMPDIR).

Directories that must lie outside every writable root live under /var/tmp: pytest's tmp_path is under /tmp,
which workspace-write lets commands write.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CODEX, CodexEnv, CodexRun, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

from codex_cli.sandbox import probe_capabilities  # noqa: E402

PLACEHOLDER_NAMES = (".codex", ".agents", ".aws")  # .git exists: the harness work dir is a git repository
WINDOWS_WARNING = "commands are NOT sandboxed on Windows"


def _confinement_or_skip(*, placeholders: bool = False) -> None:
    if sys.platform != "linux":
        pytest.skip("these tests drive the Linux sandbox")
    caps = probe_capabilities()
    if caps.landlock_abi == 0 and caps.namespaces == "none":
        pytest.skip(f"no filesystem sandbox layer on this machine: {caps}")
    if placeholders and caps.namespaces == "none":
        pytest.skip("placeholders need mount namespaces")


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env.env["TMPDIR"] = str(tmpdir)  # a writable root of its own, whatever the machine's TMPDIR is
    env.env.pop("CODEX_SANDBOX_TEST_DISABLE", None)
    env.env.pop("CODEX_SANDBOX_TEST_PLATFORM", None)
    return env


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside every writable root (not under cwd, /tmp, $TMPDIR or CODEX_HOME)."""
    base = Path(tempfile.mkdtemp(prefix="codex-cli-sbx-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _outputs(body: dict[str, object]) -> dict[str, str]:
    items = body["input"]
    assert isinstance(items, list)
    return {item["call_id"]: str(item["output"]) for item in items if item.get("type") == "function_call_output"}


def _exec(codex_env: CodexEnv, script: list[object], *args: str) -> tuple[dict[str, str], CodexRun]:
    """Run `codex exec --json ARGS go` against `script`; the outputs the model got for each call id."""
    with FakeResponsesServer(script) as server:
        codex_env.write_config(server.base_url)
        run = codex_env.run("exec", "--json", *args, "go", stdin=subprocess.DEVNULL)
        requests = list(server.requests)
    return _outputs(requests[-1].body), run


def _left_placeholders(root: Path) -> list[str]:
    return sorted(name for name in PLACEHOLDER_NAMES if (root / name).exists())


def _records(codex_env: CodexEnv) -> list[str]:
    folder = codex_env.home / "sandbox" / "placeholders"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


# ------------------------------------------------------------------------------------------ B2: codex exec


def test_exec_workspace_write_allows_cwd_and_reports_denied_write_outside(codex_env: CodexEnv,
                                                                          outside: Path) -> None:
    _confinement_or_skip()
    script: list[object] = [
        {"output": [exec_call("echo inside > inside.txt", "in")]},
        {"output": [exec_call(f"echo outside > {outside}/f.txt", "out")]},
        {"output": [message("done")]},
    ]
    outputs, run = _exec(codex_env, script, "-s", "workspace-write")
    assert run.returncode == 0, run.stderr
    assert (codex_env.workdir / "inside.txt").read_text(encoding="utf-8") == "inside\n"
    assert "Process exited with code 0" in outputs["in"]
    denied = outputs["out"]
    assert "Process exited with code 1" in denied, denied
    assert "Read-only file system" in denied or "Permission denied" in denied, denied
    assert f"{outside}/f.txt" in denied
    assert list(outside.iterdir()) == []
    assert _left_placeholders(codex_env.workdir) == []


# ------------------------------------------------------------------------------------------ B3: codex sandbox


def test_sandbox_default_policy_is_read_only_with_one_clear_error(codex_env: CodexEnv) -> None:
    _confinement_or_skip()
    for form in (["sandbox", "linux"], ["sandbox"], ["debug", "landlock"]):
        run = codex_env.run(*form, "--", "sh", "-c", "echo hi > x")
        assert run.returncode != 0, form
        assert "Read-only file system" in run.stderr or "Permission denied" in run.stderr, run.stderr
        assert run.stderr.count("failed in the read-only sandbox, where every write is refused") == 1, run.stderr
        assert not (codex_env.workdir / "x").exists()


WORKSPACE_WRITE_FORMS = {
    "sandbox_linux_config": ["sandbox", "linux", "-c", 'sandbox_mode="workspace-write"'],
    "sandbox_linux_full_auto": ["sandbox", "linux", "--full-auto"],
    "debug_landlock_config": ["debug", "landlock", "-c", 'sandbox_mode="workspace-write"'],
    "debug_landlock_full_auto": ["debug", "landlock", "--full-auto"],
}


@pytest.mark.parametrize("form", list(WORKSPACE_WRITE_FORMS.values()), ids=list(WORKSPACE_WRITE_FORMS))
def test_sandbox_workspace_write_writes_in_cwd(codex_env: CodexEnv, form: list[str]) -> None:
    _confinement_or_skip()
    run = codex_env.run(*form, "--", "sh", "-c", "echo hi > x")
    assert run.returncode == 0, run.stderr
    assert (codex_env.workdir / "x").read_text(encoding="utf-8") == "hi\n"
    assert _left_placeholders(codex_env.workdir) == []


def test_sandbox_without_platform_uses_the_host_and_config(codex_env: CodexEnv, outside: Path) -> None:
    _confinement_or_skip()
    (codex_env.home / "config.toml").write_text('sandbox_mode = "workspace-write"\n', encoding="utf-8")
    run = codex_env.run("sandbox", "--", "sh", "-c", f"echo hi > x && echo no > {outside}/y")
    assert run.returncode != 0
    assert (codex_env.workdir / "x").read_text(encoding="utf-8") == "hi\n"
    assert not (outside / "y").exists()


def test_sandbox_sigterm_reaches_the_command_and_cleans_up(codex_env: CodexEnv) -> None:
    _confinement_or_skip()
    proc = subprocess.Popen([*CODEX, "sandbox", "linux", "--full-auto", "--", "sh", "-c", "echo up; exec sleep 30"],
                            cwd=codex_env.workdir, env=codex_env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM
    assert _left_placeholders(codex_env.workdir) == []


# ------------------------------------------------------------------------------------------ Windows (faked)


@pytest.mark.parametrize("mode", ["read-only", "workspace-write"])
def test_windows_exec_refuses_unsafe_commands_naming_the_policy_and_warns_once(codex_env: CodexEnv,
                                                                               mode: str) -> None:
    codex_env.env["CODEX_SANDBOX_TEST_PLATFORM"] = "win32"
    script: list[object] = [
        {"output": [exec_call("echo hi > made.txt", "write")]},
        {"output": [exec_call("ls", "list")]},
        {"output": [exec_call("touch again.txt", "again")]},
        {"output": [message("done")]},
    ]
    outputs, run = _exec(codex_env, script, "-s", mode)
    assert run.returncode == 0, run.stderr
    for call in ("write", "again"):
        assert "rejected" in outputs[call], outputs[call]
        assert f"`{mode}` sandbox" in outputs[call] and "approval policy `never`" in outputs[call]
    assert "Process exited with code 0" in outputs["list"] and "README.md" in outputs["list"]
    assert not (codex_env.workdir / "made.txt").exists() and not (codex_env.workdir / "again.txt").exists()
    assert (run.stdout + run.stderr).count(WINDOWS_WARNING) == 1
    assert "CODEX_SANDBOX_NETWORK_DISABLED" not in outputs["list"]


def test_windows_sandbox_command_runs_nothing(codex_env: CodexEnv) -> None:
    codex_env.env["CODEX_SANDBOX_TEST_PLATFORM"] = "win32"
    run = codex_env.run("sandbox", "--", "sh", "-c", "echo hi > x")
    assert run.returncode == 1
    assert "Windows has no OS-level sandbox" in run.stderr
    assert not (codex_env.workdir / "x").exists()


# ------------------------------------------------------------------------------------------ placeholders


def _start_exec_with_sleeper(codex_env: CodexEnv, server: FakeResponsesServer) -> subprocess.Popen[bytes]:
    """`codex exec -s workspace-write` whose one command is still running (pid in sleeper.pid) on return."""
    codex_env.write_config(server.base_url)
    proc = subprocess.Popen([*CODEX, "exec", "--json", "-s", "workspace-write", "go"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=codex_env.workdir, env=codex_env.env)
    pid_file = codex_env.workdir / "sleeper.pid"
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"codex exec ended early: {err.decode()}")
        time.sleep(0.05)
    return proc


SLEEPER_SECONDS = "30.25"  # a duration no other process on the machine sleeps: how the test finds it in /proc


def _sleeper_script() -> list[object]:
    return [{"output": [exec_call(f"echo $$ > sleeper.pid; exec sleep {SLEEPER_SECONDS}", "s",
                                  yield_time_ms=30000)]},
            {"output": [message("done")]}]


def _sleeper_pids() -> list[int]:
    """The host pids of the sleeper (its $$ is a pid of the sandbox's own PID namespace)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == f"sleep\0{SLEEPER_SECONDS}\0".encode():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _kill_sleeper(codex_env: CodexEnv) -> bool:
    """Kill the command if it still runs; whether it did."""
    pids = _sleeper_pids()
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return bool(pids)


def test_exec_killed_by_sigkill_leaves_placeholders_that_the_next_run_removes(codex_env: CodexEnv) -> None:
    _confinement_or_skip(placeholders=True)
    with FakeResponsesServer(_sleeper_script()) as server:
        proc = _start_exec_with_sleeper(codex_env, server)
        try:
            assert _left_placeholders(codex_env.workdir) == sorted(PLACEHOLDER_NAMES)
            proc.kill()
            proc.communicate(timeout=10)
        finally:
            proc.kill()
            _kill_sleeper(codex_env)
    assert _left_placeholders(codex_env.workdir) == sorted(PLACEHOLDER_NAMES)
    assert list((codex_env.workdir / ".codex").iterdir()) == []
    [record] = _records(codex_env)
    assert json.loads((codex_env.home / "sandbox" / "placeholders" / record).read_text())["pid"] == proc.pid
    _, run = _exec(codex_env, [{"output": [message("hello")]}], "-s", "workspace-write")
    assert run.returncode == 0, run.stderr
    assert _left_placeholders(codex_env.workdir) == []
    assert _records(codex_env) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_exec_interrupted_or_terminated_removes_placeholders(codex_env: CodexEnv, signum: int) -> None:
    _confinement_or_skip(placeholders=True)
    with FakeResponsesServer(_sleeper_script()) as server:
        proc = _start_exec_with_sleeper(codex_env, server)
        try:
            assert _left_placeholders(codex_env.workdir) == sorted(PLACEHOLDER_NAMES)
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
            survived = _kill_sleeper(codex_env)
    assert proc.returncode != 0
    if signum == signal.SIGTERM:  # the turn is interrupted; no exception raised where Python could drop it
        assert proc.returncode == 143 and b"Exception ignored" not in err, err.decode()
    assert not survived, "the running command must end with codex"
    assert _left_placeholders(codex_env.workdir) == []
    assert _records(codex_env) == []


def test_placeholders_are_never_made_in_tmp_or_tmpdir(codex_env: CodexEnv) -> None:
    _confinement_or_skip(placeholders=True)
    tmpdir = Path(codex_env.env["TMPDIR"])
    names = (".git", *PLACEHOLDER_NAMES)
    already = {f"/tmp/{name}" for name in names if os.path.lexists(f"/tmp/{name}")}
    # Prints every protected name that exists in /tmp and $TMPDIR while the command runs, and those in its cwd.
    probe = ('for d in /tmp "$TMPDIR" "$PWD"; do for n in .git .codex .agents .aws; do '
             '[ -e "$d/$n" ] && echo "$d/$n"; done; done; true')
    for cwd in (codex_env.workdir, tmpdir, Path("/tmp")):
        run = codex_env.run("sandbox", "linux", "--full-auto", "--", "sh", "-c", probe, cwd=cwd)
        assert run.returncode == 0, run.stderr
        seen = set(run.stdout.split())
        made = {p for p in seen if p.startswith(("/tmp/", f"{tmpdir}/")) and Path(p).parent in (Path("/tmp"), tmpdir)}
        assert made - already == set(), f"cwd={cwd}"
        if cwd == codex_env.workdir:  # the project root does get them: the probe would see any
            assert {f"{cwd}/{n}" for n in PLACEHOLDER_NAMES} <= seen
    assert list(tmpdir.iterdir()) == []
    assert {f"/tmp/{name}" for name in names if os.path.lexists(f"/tmp/{name}")} == already


def test_sandbox_options_help_and_usage_errors(codex_env: CodexEnv) -> None:
    shown = codex_env.run("sandbox", "linux", "--help")
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: codex sandbox linux [--full-auto] [-c key=value]...")
    for option in ("--full-auto", "-c, --config key=value", "--log-denials"):
        assert option in shown.stdout
    unknown = codex_env.run("sandbox", "linux", "--bogus", "--", "true")
    assert unknown.returncode == 2
    assert "unknown option --bogus" in unknown.stderr and "usage: codex sandbox linux" in unknown.stderr
    missing = codex_env.run("debug", "landlock", "-c")
    assert missing.returncode == 2 and "-c needs a value (key=value)" in missing.stderr
    # Every spelling of -c reaches the config; the first word that is not an option starts the command.
    for spelling in (["-c", 'sandbox_mode="workspace-write"'], ['--config=sandbox_mode="workspace-write"'],
                     ['-csandbox_mode="workspace-write"']):
        _confinement_or_skip()
        run = codex_env.run("sandbox", "linux", *spelling, "sh", "-c", "echo hi > written && cat written")
        assert (run.returncode, run.stdout) == (0, "hi\n"), run.stderr


def test_sandbox_reports_what_the_command_did(codex_env: CodexEnv) -> None:
    """The exit status is the command's (128+N for signal N); a command that cannot run is named, and only a
    plain failure in read-only mode gets the read-only hint."""
    _confinement_or_skip()
    hint = "failed in the read-only sandbox"
    missing = codex_env.run("sandbox", "linux", "--", "no-such-command-here")
    assert missing.returncode == 101
    assert "failed to execute no-such-command-here: No such file or directory" in missing.stderr
    assert hint not in missing.stderr
    killed = codex_env.run("sandbox", "linux", "--", "sh", "-c", "kill -TERM $$")
    assert killed.returncode == 128 + signal.SIGTERM and hint not in killed.stderr
    plain = codex_env.run("sandbox", "linux", "--", "sh", "-c", "exit 3")
    assert plain.returncode == 3 and plain.stderr.count(hint) == 1
    # The interpreter ignores SIGPIPE; the command gets the default back, so `yes` stops when its reader does.
    piped = subprocess.run(f"{shlex.join(CODEX)} sandbox linux -- yes | head -n 1", shell=True,
                           cwd=codex_env.workdir, env=codex_env.env, capture_output=True, text=True, timeout=30)
    assert piped.stdout == "y\n"
    inherited = codex_env.run("sandbox", "linux", "--", "sh", "-c", "echo $1; pwd", "sh", "arg")
    assert inherited.returncode == 0
    assert inherited.stdout == f"arg\n{codex_env.workdir}\n"
