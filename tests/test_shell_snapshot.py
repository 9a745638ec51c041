"""Shell snapshots: the login profile runs once per session, and commands still see what it set up.

End to end with real shells (bash, zsh; dash for the POSIX fallback) through `codex exec` against the fake
model, and the snapshot itself in-process for hostile values, sweeping and file handling.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from cli_harness import CodexEnv, make_codex_env  # noqa: E402
from fake_responses import FakeResponsesServer, exec_call, message  # noqa: E402

from codex_cli import shell  # noqa: E402
from codex_cli.sandbox import probe_capabilities  # noqa: E402
from codex_cli.shell_snapshot import ShellSnapshot, render, snapshot_kind, sweep_stale  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no shell snapshots on Windows")

BASH = shutil.which("bash")

# What a real profile leaves behind, and a count of its own runs.
PROFILE = """echo "profile ran" >> "$HOME/profile-runs"
echo "noise from the profile"
export PROFILE_VAR="from the profile"
export SECRET_FROM_PROFILE=leaked
export SETME=from-the-profile
unset REMOVED_BY_PROFILE
profile_fn() { echo "profile_fn says $1"; }
alias profile_alias='echo alias expanded'
cd /
"""
# Every command checks the whole of it; `cd` must not carry over from one command to the next.
CHECK = ('echo "var=$PROFILE_VAR"; profile_fn hi; profile_alias; '
         'echo "secret=${SECRET_FROM_ENV-}${SECRET_FROM_PROFILE-}"; '
         'echo "set=$SETME removed=${REMOVED_BY_PROFILE-gone}"; pwd')


@pytest.fixture
def codex_env(tmp_path: Path) -> CodexEnv:
    return make_codex_env(tmp_path)


def _installed(name: str) -> str:
    """The path of shell `name`; a missing one skips the test here and fails it on CI, where .ci/run installs bash
    and zsh."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") and name != "dash":
            pytest.fail(f"{name} is not installed: .ci/run installs it")
        pytest.skip(f"{name} is not installed")
    return path


def _user_home(codex_env: CodexEnv, shell_path: str, profile_name: str, profile: str = PROFILE) -> Path:
    home = Path(codex_env.env["HOME"])
    (home / profile_name).write_text(profile, encoding="utf-8")
    codex_env.env["SHELL"] = shell_path
    return home


def _outputs(body: dict[str, object]) -> dict[str, str]:
    items = body["input"]
    assert isinstance(items, list)
    return {item["call_id"]: str(item["output"]) for item in items if item.get("type") == "function_call_output"}


def _profile_runs(home: Path) -> int:
    runs = home / "profile-runs"
    return len(runs.read_text(encoding="utf-8").splitlines()) if runs.exists() else 0


def _notices(events: list[dict[str, object]]) -> list[str]:
    items = [e.get("item") for e in events]
    return [str(item["message"]) for item in items if isinstance(item, dict) and item.get("type") == "error"]


def _run(codex_env: CodexEnv, calls: list[dict[str, object]], extra: str = "",
         *args: str) -> tuple[dict[str, str], list[dict[str, object]], float]:
    """Run `codex exec` through `calls`: (outputs by call id, events, seconds from spawn to the first request)."""
    script = [{"output": [call]} for call in calls] + [{"output": [message("done")]}]
    with FakeResponsesServer(script, repeat_last=False) as server:
        codex_env.write_config(server.base_url, extra)
        started = time.monotonic()
        run = codex_env.run("exec", "--skip-git-repo-check", "--json", *args, "go", stdin=subprocess.DEVNULL)
        assert run.returncode == 0, run.stderr
        requests = [r for r in server.requests if r.method == "POST"]
        first_request = requests[0].time - started
        return _outputs(requests[-1].body), run.events(), first_request


POLICY = '[shell_environment_policy]\nexclude = ["SECRET_*"]\nset = { SETME = "from-the-policy" }\n'


@pytest.mark.parametrize("shell_name, profile_name", [("bash", ".bash_profile"), ("zsh", ".zprofile")])
def test_profile_runs_once_and_every_command_sees_what_it_set_up(
    codex_env: CodexEnv, shell_name: str, profile_name: str
) -> None:
    shell_path = _installed(shell_name)
    home = _user_home(codex_env, shell_path, profile_name)
    codex_env.env.update(SECRET_FROM_ENV="excluded", REMOVED_BY_PROFILE="still here")
    calls = [exec_call(CHECK if i != 4 else f"cd / && {CHECK}", f"c{i}") for i in range(10)]
    calls.append(exec_call('ls -l "$CODEX_HOME/shell_snapshots"', "mode"))
    calls.append(exec_call('echo "var=${PROFILE_VAR-unset}"; type profile_fn >/dev/null 2>&1 || echo no-fn', "nologin",
                           login=False))
    outputs, events, _ = _run(codex_env, calls, POLICY, "-s", "danger-full-access")
    for i in range(10):
        text = outputs[f"c{i}"]
        assert "Process exited with code 0" in text, text
        body = text.split("Output:\n", 1)[1]
        assert body.splitlines() == [
            "var=from the profile", "profile_fn says hi", "alias expanded", "secret=",
            "set=from-the-policy removed=gone", "/" if i == 4 else str(codex_env.workdir),
        ], body
        assert "noise from the profile" not in body
    # The snapshot: one file of this thread, readable by its owner only, gone once the session ended.
    [listing] = [line for line in outputs["mode"].splitlines() if line.endswith(".sh")]
    assert listing.startswith("-rw------- ")
    assert list((codex_env.home / "shell_snapshots").iterdir()) == []
    # login=false: no profile at all, and no snapshot either.
    assert outputs["nologin"].split("Output:\n", 1)[1].splitlines() == ["var=unset", "no-fn"]
    assert _profile_runs(home) == 1  # the first command waited for the snapshot instead of running the profile
    assert _notices(events) == []
    # Shown to the model and the person as it asked for it.
    commands = [e["item"]["command"] for e in events if e["type"] == "item.completed"
                and e["item"]["type"] == "command_execution"]
    assert commands[0].startswith(f"{shell_path} -lc ")


def test_feature_off_runs_the_profile_for_every_command(codex_env: CodexEnv) -> None:
    assert BASH is not None
    home = _user_home(codex_env, BASH, ".bash_profile")
    calls = [exec_call(CHECK, f"c{i}") for i in range(3)]
    outputs, events, _ = _run(codex_env, calls, "[features]\nshell_snapshot = false\n", "-s", "danger-full-access")
    assert _profile_runs(home) == 3
    assert "profile_fn says hi" in outputs["c2"] and "noise from the profile" in outputs["c2"]
    assert not (codex_env.home / "shell_snapshots").exists() and _notices(events) == []
    listing = codex_env.run("features", "list", "--disable", "shell_snapshot")
    assert "shell_snapshot                           stable             false" in listing.stdout.splitlines()


def test_hanging_profile_falls_back_to_login_shells_with_one_notice(codex_env: CodexEnv) -> None:
    """The first run of this profile hangs (the snapshot's), later ones do not: the session starts at once, the
    snapshot gives up after 10 s and its process is killed, commands run `-lc`, and the person is told once."""
    assert BASH is not None
    hang = 'if [ ! -e "$HOME/hung" ]; then : > "$HOME/hung"; sleep 97.5; fi\n'
    home = _user_home(codex_env, BASH, ".bash_profile", hang + PROFILE)
    calls = [exec_call(CHECK, f"c{i}") for i in range(3)]
    outputs, events, first_request = _run(codex_env, calls, "", "-s", "danger-full-access")
    assert first_request < 5
    assert all("var=from the profile" in outputs[f"c{i}"] for i in range(3))
    [notice] = _notices(events)
    assert "did not finish within 10 s" in notice and "-lc" in notice
    assert _profile_runs(home) == 3
    if os.path.isdir("/proc"):
        sleepers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p).startswith(b"sleep\x0097.5")]
        assert sleepers == []


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_snapshot_is_taken_in_the_sandbox_where_the_profile_cannot_write(codex_env: CodexEnv) -> None:
    caps = probe_capabilities()
    if sys.platform != "linux" or (caps.landlock_abi == 0 and caps.namespaces == "none"):
        pytest.skip("needs the Linux sandbox")
    assert BASH is not None
    writes = 'echo written > "$HOME/written-by-profile" 2>/dev/null\n'
    profile = writes + PROFILE.replace('>> "$HOME/profile-runs"', ">/dev/null")
    home = _user_home(codex_env, BASH, ".bash_profile", profile)
    outputs, events, _ = _run(codex_env, [exec_call(CHECK, "c0")], POLICY, "-s", "read-only")
    assert "var=from the profile" in outputs["c0"] and "profile_fn says hi" in outputs["c0"], outputs["c0"]
    assert not (home / "written-by-profile").exists() and _notices(events) == []


def test_policy_decides_what_profile_variables_reach_commands() -> None:
    policy = shell.EnvPolicy(exclude=("SECRET_*",), set={"SETME": "x"}, include_only=("P*", "SETME", "SECRET_A"))
    assert shell.profile_var_kept(policy, "PROFILE_VAR")
    assert not shell.profile_var_kept(policy, "SECRET_A")  # excluded, even though include_only names it
    assert not shell.profile_var_kept(policy, "SETME")  # `set` gives every command its value
    assert not shell.profile_var_kept(policy, "OTHER")  # outside include_only
    assert not shell.profile_var_kept(policy, "TERM") and not shell.profile_var_kept(policy, "CODEX_TOOL_CALL_ID")
    strict = shell.EnvPolicy(ignore_default_excludes=False)
    assert not shell.profile_var_kept(strict, "GH_TOKEN") and shell.profile_var_kept(strict, "PATH")


# ---------------------------------------------------------------------------------------------- in-process

HOSTILE = {
    "H_NEWLINES": "line one\nline two\n",
    "H_QUOTES": "it's \"quoted\" and '' twice",
    "H_EXPANSIONS": "$(touch pwned) `touch pwned` ${HOME} $((1+1)) !!",
    "H_BACKSLASH": "ends with a backslash \\",
    "H_ONLY_QUOTE": "'",
    "H_EMPTY": "",
    "H_EQUALS": "a=b=c",
    "H_NOT_UTF8": os.fsdecode(b"caf\xe9 \xff\xfe"),
    "H_FAKE_MARK": "\n0123456789abcdef end\n",
}


@pytest.fixture
def snapshots(tmp_path: Path) -> Iterator[list[ShellSnapshot]]:
    taken: list[ShellSnapshot] = []
    yield taken
    for snapshot in taken:
        snapshot.close()


def _take(snapshots: list[ShellSnapshot], shell_path: str, tmp_path: Path, profile_name: str, profile: str,
          env: dict[str, str] | None = None, directory: Path | None = None,
          timeout: float = 10) -> tuple[ShellSnapshot, dict[str, str]]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / profile_name).write_text(profile, encoding="utf-8")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "SHELL": shell_path, **(env or {})}
    snapshot = ShellSnapshot(shell_path, directory=directory or tmp_path / "snapshots", thread_id="thread-1",
                             cwd=tmp_path, env=base, keeps=lambda name: not name.startswith("DROP_"),
                             timeout=timeout)
    snapshots.append(snapshot)
    snapshot.start()
    return snapshot, base


def _run_through(snapshot: ShellSnapshot, env: dict[str, str], cmd: str, cwd: Path) -> bytes:
    argv = snapshot.command([snapshot.shell, "-lc", cmd])
    assert argv is not None, snapshot.failure
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    assert done.stderr == b"" and done.returncode == 0, (done.stderr, done.returncode)
    return done.stdout


@pytest.mark.parametrize("name, profile_name", [("bash", ".bash_profile"), ("zsh", ".zprofile"), ("dash", ".profile")])
def test_hostile_values_come_back_byte_for_byte(snapshots: list[ShellSnapshot], tmp_path: Path,
                                                name: str, profile_name: str) -> None:
    shell_path = _installed(name)
    # From codex's environment and from the profile (which builds the same values with printf).
    profile = "".join(f"export P{name}=\"$(printf '%s_' \"${name}\")\"\n" for name in HOSTILE)
    profile += "export DROP_ME=1\n"
    snapshot, env = _take(snapshots, shell_path, tmp_path, profile_name, profile, env=dict(HOSTILE))
    names = [*HOSTILE, *(f"P{name}" for name in HOSTILE)]
    run_env = {k: v for k, v in env.items() if not k.startswith("H_")}  # what comes back, comes from the snapshot
    command = "printf '%s\\0' " + " ".join(f'"${n}"' for n in names) + '; echo "${DROP_ME-}"'
    printed = _run_through(snapshot, run_env, command, tmp_path)
    expected = [os.fsencode(value) for value in HOSTILE.values()] + [os.fsencode(v) + b"_" for v in HOSTILE.values()]
    assert printed.split(b"\0") == [*expected, b"\n"]
    assert not (tmp_path / "pwned").exists()


def test_zsh_options_functions_and_global_aliases(snapshots: list[ShellSnapshot], tmp_path: Path) -> None:
    zsh = _installed("zsh")
    # A function and an alias of the same name: the snapshot defines functions before aliases, or the alias
    # would expand in the function's definition.
    profile = ("setopt extendedglob\nglob_fn() { print -l -- ^*.txt(N) }\nalias -g COUNT='| wc -l'\n"
               "ls() { command ls -1 \"$@\"; }\nalias ls='ls -1'\nsetopt xtrace\numask 027\n")
    snapshot, env = _take(snapshots, zsh, tmp_path, ".zprofile", profile)
    work = tmp_path / "work"
    work.mkdir()
    (work / "a.txt").write_text("", encoding="utf-8")
    (work / "b.md").write_text("", encoding="utf-8")
    argv = snapshot.command([zsh, "-lc", "glob_fn; echo one two COUNT; umask; ls"])
    assert argv is not None, snapshot.failure
    done = subprocess.run(argv, env=env, cwd=work, capture_output=True, check=False)
    assert done.stdout.split() == [b"b.md", b"1", b"027", b"a.txt", b"b.md"]
    assert b"glob_fn" in done.stderr  # xtrace, as the profile asked, for the command only


def test_bash_function_needing_extglob_and_options_set_by_the_profile(snapshots: list[ShellSnapshot],
                                                                       tmp_path: Path) -> None:
    assert BASH is not None
    profile = ("shopt -s extglob\nmatch_fn() { case $1 in +(a)) echo many-a ;; *) echo other ;; esac; }\n"
               "set -o noclobber\nplain_fn() { echo plain; }\nexport -f plain_fn\n")
    snapshot, env = _take(snapshots, BASH, tmp_path, ".bash_profile", profile)
    out = _run_through(snapshot, env, "match_fn aaa; [[ -o noclobber ]] && echo noclobber; bash -c plain_fn",
                       tmp_path)
    assert out.split() == [b"many-a", b"noclobber", b"plain"]  # an exported function stays exported


def test_snapshot_file_is_private_locked_and_removed_on_close(snapshots: list[ShellSnapshot], tmp_path: Path) -> None:
    assert BASH is not None
    directory = tmp_path / "it's a \"dir\" with spaces" / "shell_snapshots"
    snapshot, env = _take(snapshots, BASH, tmp_path, ".bash_profile", "export X=1\n", directory=directory)
    assert _run_through(snapshot, env, "echo $X", tmp_path) == b"1\n"
    assert snapshot.path == directory / "thread-1.sh"
    assert snapshot.path.stat().st_mode & 0o777 == 0o600
    fd = os.open(snapshot.path, os.O_RDONLY)
    try:
        with pytest.raises(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by the live session: the sweep leaves it
    finally:
        os.close(fd)
    snapshot.close()
    assert list(directory.iterdir()) == []
    assert snapshot.command([BASH, "-lc", "true"]) is None  # closed: commands run -lc


def test_second_process_of_the_same_thread_gets_a_name_of_its_own(snapshots: list[ShellSnapshot],
                                                                   tmp_path: Path) -> None:
    assert BASH is not None
    first, env = _take(snapshots, BASH, tmp_path, ".bash_profile", "export X=1\n")
    assert first.command([BASH, "-lc", "true"]) is not None
    second, _ = _take(snapshots, BASH, tmp_path, ".bash_profile", "export X=1\n")
    assert second.command([BASH, "-lc", "true"]) is not None
    assert first.path is not None and second.path is not None and first.path != second.path
    assert second.path.name == f"thread-1.{os.getpid()}.sh"


def test_sweep_removes_only_snapshots_no_live_session_holds(tmp_path: Path) -> None:
    old = time.time() - 3600
    ours = render("sh", {"env": b"X=1\0"}, initial_env={}, keeps=lambda name: True).decode()
    files = {"dead.sh": ours, "empty.sh": "", "live.sh": ours, "young.sh": ours, "other.txt": ours,
             "codex-rs.1796668786316836119.sh": "# Snapshot file\nexport X=1\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        if name != "young.sh":
            os.utime(tmp_path / name, (old, old))
    holder = os.open(tmp_path / "live.sh", os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        sweep_stale(tmp_path)
    finally:
        os.close(holder)
    remaining = ["codex-rs.1796668786316836119.sh", "live.sh", "other.txt", "young.sh"]
    assert sorted(p.name for p in tmp_path.iterdir()) == remaining


def test_only_posix_shells_are_snapshot() -> None:
    assert snapshot_kind("/bin/bash") == "bash" and snapshot_kind("/usr/bin/zsh") == "zsh"
    assert snapshot_kind("/bin/sh") == "sh" and snapshot_kind("/usr/bin/dash") == "sh"
    assert snapshot_kind("/usr/bin/fish") is None and snapshot_kind("/usr/bin/pwsh") is None


def test_profile_that_exits_early_is_reported(snapshots: list[ShellSnapshot], tmp_path: Path) -> None:
    assert BASH is not None
    snapshot, _ = _take(snapshots, BASH, tmp_path, ".bash_profile", "exit 3\n")
    assert snapshot.command([BASH, "-lc", "true"]) is None
    assert snapshot.failure is not None and "exited with status 3" in snapshot.failure
    assert list((tmp_path / "snapshots").glob("*.sh")) == []


# Like `pyenv rehash`: a lock file that a trap removes. Killed outright, the holder would leave it behind, and every
# later rehash (every login shell of the machine) would wait a minute for it.
LOCKING_PROFILE = """bash -c 'echo held > "$HOME/lock"; trap "rm -f \\"\\$HOME/lock\\"" EXIT; sleep 30'
export X=1
"""


@pytest.mark.parametrize("how", ["timeout", "close"])
def test_a_stopped_profile_runs_its_traps(snapshots: list[ShellSnapshot], tmp_path: Path, how: str) -> None:
    assert BASH is not None
    snapshot, _ = _take(snapshots, BASH, tmp_path, ".bash_profile", LOCKING_PROFILE, timeout=1.0)
    lock = tmp_path / "home" / "lock"
    deadline = time.monotonic() + 5
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.exists()
    if how == "close":
        snapshot.close()
    else:
        assert snapshot.command([BASH, "-lc", "true"]) is None
        assert snapshot.failure is not None and "did not finish within 1 s" in snapshot.failure
    assert not lock.exists()
