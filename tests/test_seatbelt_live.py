"""The Seatbelt profile run for real under /usr/bin/sandbox-exec (macOS only; skipped elsewhere, and the CI job
`seatbelt` sets CODEX_TEST_SEATBELT_LIVE=1 so that it fails instead of skipping).

Commands go through the real CLI (`codex sandbox macos --full-auto -- sh -c ...`) in a git work dir whose
CODEX_HOME, HOME and TMPDIR are the test's own; the profile itself is also fed to sandbox-exec directly, with
hostile file names, to prove it compiles. What tests/test_seatbelt.py reads in the text, this checks by
behaviour: protected names and their case variants and symlinks are read-only, other terminals are out of
reach, no Unix socket but the resolver's answers with the network on, `ps` works in a login shell, and
ordinary writes, sysctls, preferences and power assertions work.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_harness import CodexEnv, CodexRun, make_codex_env  # noqa: E402

from codex_cli.sandbox import SandboxPolicy  # noqa: E402
from codex_cli.sandbox_policy import case_insensitive_volume
from codex_cli.seatbelt import SANDBOX_EXEC, seatbelt_argv  # noqa: E402

LIVE = sys.platform == "darwin" and os.access(SANDBOX_EXEC, os.X_OK)
REQUIRED = os.environ.get("CODEX_TEST_SEATBELT_LIVE") == "1"
pytestmark = pytest.mark.skipif(not LIVE and not REQUIRED, reason="needs macOS and /usr/bin/sandbox-exec")
PY = shlex.quote(sys.executable)


@pytest.fixture
def ws(tmp_path: Path) -> CodexEnv:
    env = make_codex_env(tmp_path)
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    env.env["TMPDIR"] = str(tmpdir)
    return env


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside every writable root (/var/tmp is neither /tmp nor $TMPDIR)."""
    base = Path(tempfile.mkdtemp(prefix="codex-seatbelt-", dir="/var/tmp")).resolve()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def sandboxed(ws: CodexEnv, script: str, *, network: bool = False, cwd: Path | None = None) -> CodexRun:
    config = "[sandbox_workspace_write]\nnetwork_access = true\n" if network else ""
    (ws.home / "config.toml").write_text(config, encoding="utf-8")
    return ws.run("sandbox", "macos", "--full-auto", "--", "/bin/sh", "-c", script, cwd=cwd, timeout=120)


def refused(ws: CodexEnv, scripts: list[str], *, network: bool = False, cwd: Path | None = None) -> None:
    for script in scripts:
        run = sandboxed(ws, script, network=network, cwd=cwd)
        assert run.returncode != 0, f"allowed: {script}\n{run.stderr}"


# ------------------------------------------------------------------------------------------------ files


def test_writes_in_the_writable_roots_succeed_and_elsewhere_fail(ws: CodexEnv, outside: Path) -> None:
    run = sandboxed(ws, 'echo hi > x && echo t > "$TMPDIR/t" && mkdir -p sub/.git && echo ok > sub/.git/y '
                        f'&& echo tmp > /tmp/codex-seatbelt-{os.getpid()} && rm /tmp/codex-seatbelt-{os.getpid()}')
    assert run.returncode == 0, run.stderr
    assert (ws.workdir / "x").read_text(encoding="utf-8") == "hi\n"
    assert (ws.workdir / "sub" / ".git" / "y").exists()  # only the top of a root is protected
    refused(ws, [f"echo no > {shlex.quote(str(outside))}/y"])
    assert not (outside / "y").exists()


def test_read_only_by_default(ws: CodexEnv) -> None:
    (ws.home / "config.toml").write_text("", encoding="utf-8")
    run = ws.run("sandbox", "macos", "--", "/bin/sh", "-c", "echo hi > x")
    assert run.returncode != 0 and not (ws.workdir / "x").exists()


def test_protected_names_and_their_case_variants_are_read_only(ws: CodexEnv) -> None:
    work = ws.workdir
    (work / ".codex").mkdir()
    (work / ".codex" / "config.toml").write_text("a = 1\n", encoding="utf-8")
    kept = {p: p.read_bytes() for p in (work / ".git" / "config", work / ".codex" / "config.toml")}
    refused(ws, ["echo x >> .git/config", "echo x > .codex/config.toml", "mkdir .aws", "mkdir .agents",
                 "mv .git git-old", "rm -rf .git/hooks"])
    if not case_insensitive_volume(work):
        pytest.skip("this volume tells case apart: .GIT is another name there")
    refused(ws, ["echo x >> .GIT/config", "echo x >> .Git/config",
                 "mkdir -p .GIT/hooks && echo x > .GIT/hooks/pre-commit", "echo x > .CODEX/config.toml",
                 "mkdir .AWS", "mkdir .Agents", "mkdir .aw\u017f", "mv .Git git-old", "rm .GIT/config"])
    assert {p: p.read_bytes() for p in kept} == kept
    assert not (work / ".git" / "hooks" / "pre-commit").exists()
    assert not (work / ".aws").exists() and not (work / ".agents").exists()


def test_symlinked_protected_names_and_their_targets_are_read_only(ws: CodexEnv, outside: Path,
                                                                     tmp_path: Path) -> None:
    work = ws.workdir
    (work / "shared" / "codex").mkdir(parents=True)
    (work / "shared" / "codex" / "config.toml").write_text("a = 1\n", encoding="utf-8")
    (work / ".codex").symlink_to("shared/codex")
    refused(ws, ["rm .codex", "rm .codex; mkdir .codex", "mv .codex moved", "ln -sfn /tmp .codex",
                 "echo x > .codex/config.toml", "echo x > shared/codex/config.toml", "rm shared/codex/config.toml"])
    assert os.readlink(work / ".codex") == "shared/codex"
    assert (work / "shared" / "codex" / "config.toml").read_text(encoding="utf-8") == "a = 1\n"
    # A .git that points outside every root: the name itself can be neither removed nor replaced.
    project = tmp_path / "linked"
    project.mkdir()
    (outside / "store").mkdir()
    (project / ".git").symlink_to(outside / "store")
    refused(ws, ["rm .git", "ln -sfn /tmp .git", "mv .git moved", "echo x > .git/config"], cwd=project)
    assert os.readlink(project / ".git") == str(outside / "store")
    assert not (outside / "store" / "config").exists()


def test_codex_home_inside_the_work_dir_is_read_only(ws: CodexEnv) -> None:
    home = ws.workdir / "codex-home"
    (home / "memories").mkdir(parents=True)
    (home / "config.toml").write_text("", encoding="utf-8")
    ws.env["CODEX_HOME"] = str(home)
    ws.home = home
    run = sandboxed(ws, "echo m > codex-home/memories/note")
    assert run.returncode == 0, run.stderr
    refused(ws, ["echo x > codex-home/auth.json"])
    if case_insensitive_volume(ws.workdir):
        refused(ws, ["echo x > CODEX-HOME/auth.json", "echo x > Codex-Home/config.toml"])
    assert not (home / "auth.json").exists()


# ------------------------------------------------------------------------------------------------ devices


def test_other_terminals_are_out_of_reach_and_a_new_pty_works(ws: CodexEnv) -> None:
    master, slave = os.openpty()  # made outside the sandbox, like another terminal of the person's
    try:
        name = os.ttyname(slave)
        refused(ws, [f"echo x > {name}", f"exec 3<>{name}"])
        os.set_blocking(master, False)
        try:
            leaked = os.read(master, 100)
        except BlockingIOError:
            leaked = b""
        assert b"x" not in leaked
    finally:
        os.close(master)
        os.close(slave)
    own = f"{PY} -c \"import os; m, s = os.openpty(); os.write(s, b'hi'); assert os.read(m, 2) == b'hi'\""
    run = sandboxed(ws, own)
    assert run.returncode == 0, run.stderr


# ------------------------------------------------------------------------------------------------ network


def _connect_script(path: Path) -> str:
    return f"{PY} -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' {shlex.quote(str(path))}"


@pytest.mark.parametrize("network", [True, False], ids=["network-on", "network-off"])
def test_unix_sockets_outside_the_list_cannot_be_reached(ws: CodexEnv, outside: Path, network: bool) -> None:
    paths = [outside / "agent.sock", Path(f"/tmp/codex-seatbelt-{os.getpid()}.sock")]  # /tmp: like tmux, launchd
    servers = []
    try:
        for path in paths:
            server = socket.socket(socket.AF_UNIX)
            server.bind(str(path))
            server.listen(4)
            servers.append(server)
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(path))  # reachable without the sandbox
        refused(ws, [_connect_script(path) for path in paths], network=network)
    finally:
        for server in servers:
            server.close()
        for path in paths:
            path.unlink(missing_ok=True)


def test_network_on_reaches_the_internet_by_name_and_off_does_not(ws: CodexEnv) -> None:
    try:
        socket.create_connection(("github.com", 443), timeout=10).close()
    except OSError as exc:
        pytest.skip(f"no internet here: {exc}")
    script = f"{PY} -c \"import socket; socket.create_connection(('github.com', 443), timeout=10).close()\""
    run = sandboxed(ws, script, network=True)
    assert run.returncode == 0, run.stderr  # DNS through mDNSResponder, TLS port over IP
    refused(ws, [script], network=False)


# ------------------------------------------------------------------------------------------------ ordinary work


def test_ps_works_in_a_login_shell(ws: CodexEnv) -> None:
    brew = next((b for b in ("/opt/homebrew/bin/brew", "/usr/local/bin/brew") if os.access(b, os.X_OK)), None)
    profile = f'eval "$({brew} shellenv)"\n' if brew else ""
    home = Path(ws.env["HOME"])
    (home / ".bash_profile").write_text(profile, encoding="utf-8")
    (home / ".zprofile").write_text(profile, encoding="utf-8")
    run = sandboxed(ws, "/bin/ps -p $$ -o comm= && /bin/bash -l -c '/bin/ps -o pid= -p $$' && /bin/zsh -l -c true")
    assert run.returncode == 0, run.stderr
    assert "Operation not permitted" not in run.stdout + run.stderr


def test_sysctls_preferences_and_power_assertions_work(ws: CodexEnv) -> None:
    run = sandboxed(ws, "sysctl -n hw.ncpu hw.memsize kern.osproductversion machdep.cpu.brand_string "
                        "&& defaults domains >/dev/null && caffeinate -i /usr/bin/true")
    assert run.returncode == 0, run.stderr


# ------------------------------------------------------------------------------------------------ the profile itself


@pytest.mark.parametrize("name", ['plain', 'q"uote(paren)\n#"', "\u202eexe.txt", "sp ace;[x]*", "caf\u00e9"],
                         ids=["plain", "quotes-parens-newline", "rtl", "regex-chars", "utf8"])
def test_the_profile_compiles_and_confines_under_hostile_root_names(tmp_path: Path, name: str) -> None:
    root = tmp_path / f"root-{name}"
    (root / ".git").mkdir(parents=True)
    (root / "store").mkdir()
    for network in (False, True):
        policy = SandboxPolicy.from_config("workspace-write", root, network_access=network,
                                           exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
        prefix = seatbelt_argv(policy, {})
        ok = subprocess.run([*prefix, "/bin/sh", "-c", "echo hi > file"], cwd=root, capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr
        for script in ("echo x > .git/config", "echo x > .GIT/config" if case_insensitive_volume(root) else "false",
                       "mkdir .codex", "rmdir .git"):
            denied = subprocess.run([*prefix, "/bin/sh", "-c", script], cwd=root, capture_output=True, text=True)
            assert denied.returncode != 0, (name, script)
    assert not (root / ".git" / "config").exists() and not (root / ".codex").exists()
