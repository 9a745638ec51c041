"""Tests of codex_cli.sandbox: policies, Seatbelt text, and real confinement of real commands on Linux.

The matrix runs each command through a small driver process (`run_sandboxed_command`), as root and, when
`setpriv` exists and we are root, as `nobody` (uid 65534) — the unprivileged path with a user namespace is the
one real users hit. The work dirs live under /var/tmp (not /tmp, which is itself a writable root) and are
owned by the user running the command. Landlock denies with EACCES and read-only mounts with EROFS: the tests
judge allowed/denied by exit status and by whether the file exists afterwards, never by the message.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from codex_cli import sandbox_linux
from codex_cli.errors import ConfigError, SandboxError
from codex_cli.records import replace
from codex_cli.sandbox import (
    PreparedSandbox,
    SandboxPolicy,
    prepare,
    probe_capabilities,
    seatbelt_profile,
)
from codex_cli.seatbelt import seatbelt_argv, seatbelt_params

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_harness import NOBODY, Runner, caps_or_skip, setpriv_nobody  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ON_LINUX = sys.platform == "linux"
linux_only = pytest.mark.skipif(not ON_LINUX, reason="Linux confinement needs Linux")

DRIVER = f"""
import json, os, sys
sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from codex_cli.sandbox import SandboxPolicy
from codex_cli.sandbox_cli import run_sandboxed_command
a = json.loads(sys.argv[1])
policy = SandboxPolicy.from_config(
    a["mode"], Path(a["cwd"]), network_access=a.get("network", False),
    codex_home=Path(a["codex_home"]) if a.get("codex_home") else None,
)
sys.exit(run_sandboxed_command(policy, a["argv"], Path(a["cwd"]), os.environ))
"""


# ------------------------------------------------------------------------------------------------ policy


def test_from_config_workspace_write_orders_cwd_add_dirs_then_roots(tmp_path: Path) -> None:
    policy = SandboxPolicy.from_config(
        "workspace-write", tmp_path, writable_roots=[tmp_path / "r"], add_dirs=["a"], codex_home=tmp_path / "h"
    )
    assert policy.writable_roots == (tmp_path.resolve(), (tmp_path / "a").resolve(), (tmp_path / "r").resolve())


def test_from_config_read_only_has_no_roots_and_no_network(tmp_path: Path) -> None:
    policy = SandboxPolicy.from_config("read-only", tmp_path, writable_roots=[tmp_path], network_access=True)
    assert policy.writable_roots == ()
    assert not policy.network_access
    assert policy.effective_writable_roots({"TMPDIR": str(tmp_path)}) == []


def test_from_config_unknown_mode_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        SandboxPolicy.from_config("sometimes", tmp_path)


def test_effective_roots_add_tmp_tmpdir_and_memories(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmpdir"
    policy = SandboxPolicy.from_config("workspace-write", tmp_path / "w", codex_home=tmp_path / "home")
    roots = policy.effective_writable_roots({"TMPDIR": str(tmpdir)})
    assert roots == [(tmp_path / "w").resolve(), Path("/tmp").resolve(), tmpdir.resolve(),
                     (tmp_path / "home" / "memories").resolve()]


def test_effective_roots_exclude_flags_drop_tmp_and_tmpdir(tmp_path: Path) -> None:
    policy = SandboxPolicy.from_config("workspace-write", tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
    assert policy.effective_writable_roots({"TMPDIR": "/var/tmp"}) == [tmp_path.resolve()]


def test_protected_paths_cover_names_and_the_gitdir_of_a_git_file(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / ".git").write_text("gitdir: store\n", encoding="utf-8")
    policy = SandboxPolicy.from_config("workspace-write", tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
    root = tmp_path.resolve()
    assert policy.protected_paths({}) == [root / ".git", root / ".agents", root / ".codex", root / ".aws",
                                          root / "store"]


# ------------------------------------------------------------------------------------------------ seatbelt


def test_seatbelt_profile_workspace_write_allows_roots_minus_protected(tmp_path: Path) -> None:
    policy = SandboxPolicy.from_config("workspace-write", tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
    text = seatbelt_profile(policy, {})
    assert text.startswith("(version 1)\n(deny default)")
    assert "(allow file-read*)" in text
    assert '(subpath (param "WRITABLE_ROOT_0"))' in text
    for j in range(4):
        assert f'(require-not (subpath (param "WRITABLE_ROOT_0_EXCLUDED_{j}")))' in text
    assert '(path "/dev/null")' in text
    assert "network-outbound" not in text
    assert str(tmp_path) not in text  # paths travel as -D parameters
    params = dict(seatbelt_params(policy, {}))
    assert params["WRITABLE_ROOT_0"] == str(tmp_path.resolve())
    assert params["WRITABLE_ROOT_0_EXCLUDED_0"] == str(tmp_path.resolve() / ".git")


def test_seatbelt_profile_network_and_read_only(tmp_path: Path) -> None:
    networked = SandboxPolicy.from_config("workspace-write", tmp_path, network_access=True)
    assert "(allow network-outbound)" in seatbelt_profile(networked, {})
    read_only = seatbelt_profile(SandboxPolicy.from_config("read-only", tmp_path), {})
    assert "(allow file-write*\n" not in read_only
    assert "network-outbound" not in read_only


def test_seatbelt_argv_is_sandbox_exec_with_params(tmp_path: Path) -> None:
    policy = SandboxPolicy.from_config("workspace-write", tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
    argv = seatbelt_argv(policy, {})
    assert argv[:2] == ["/usr/bin/sandbox-exec", "-p"]
    assert argv[-1] == "--"
    assert f"-DWRITABLE_ROOT_0={tmp_path.resolve()}" in argv


# ------------------------------------------------------------------------------------------------ internals


def test_seccomp_program_checks_arch_first() -> None:
    program = sandbox_linux.seccomp_program("restricted")
    if not program:
        pytest.skip("no seccomp filter for this architecture")
    assert len(program) % 8 == 0
    assert program[:8] == bytes.fromhex("2000000004000000")  # ld [4]: seccomp_data.arch
    assert sandbox_linux.seccomp_program("none") == b""
    assert len(sandbox_linux.seccomp_program("vsock")) < len(program)


def test_landlock_mask_follows_abi() -> None:
    assert [sandbox_linux.landlock_fs_mask(abi) for abi in (0, 1, 2, 3, 4, 5, 7)] == [
        0, 0x1FFF, 0x3FFF, 0x7FFF, 0x7FFF, 0xFFFF, 0xFFFF]


def test_danger_full_access_prepares_nothing() -> None:
    prepared = prepare(SandboxPolicy("danger-full-access"), os.environ)
    assert prepared.preexec is None and prepared.argv_prefix == () and not prepared.env_updates


# ------------------------------------------------------------------------------------------------ Linux matrix


@functools.cache
def _nobody_python() -> str | None:
    """A Python >= 3.10 that uid 65534 can run and that finds codex_cli in this checkout, or None (ours may live
    under /root, and a checkout in a private temp folder is unreadable to nobody)."""
    if not ON_LINUX or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    for candidate in dict.fromkeys((sys.executable, "/usr/bin/python3")):
        # Through /bin/sh: setpriv itself was seen to run an inaccessible path by other means.
        probe = (f"import sys; sys.path.insert(0, {str(REPO)!r}); import codex_cli.sandbox; "
                 "assert sys.version_info >= (3, 10)")
        check = [*setpriv_nobody(), "/bin/sh", "-c", '"$0" -c "$1"', candidate, probe]
        if subprocess.run(check, capture_output=True, check=False).returncode == 0:
            return candidate
    return None


@pytest.fixture(params=["invoker", "nobody"])
def runner(request: pytest.FixtureRequest) -> Runner:
    caps_or_skip()
    if request.param == "invoker":
        return Runner("invoker", (), sys.executable, os.geteuid())
    python = _nobody_python()
    if python is None:
        pytest.skip("running as nobody needs root, setpriv, a Python >= 3.10 nobody can execute and a checkout "
                    "it can read")
    return Runner("nobody", tuple(setpriv_nobody()), python, NOBODY)


@dataclass(frozen=True)
class Layout:
    base: Path  # /var/tmp/...: not under any writable root
    work: Path  # the cwd, a git repository
    outside: Path
    tmp: Path  # under /tmp
    tmpdir: Path  # $TMPDIR
    codex_home: Path

    def fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


@pytest.fixture
def layout(runner: Runner) -> Iterator[Layout]:
    base = Path(tempfile.mkdtemp(prefix="codex-sbx-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    tmp = Path(tempfile.mkdtemp(prefix="codex-sbx-", dir="/tmp"))
    lay = Layout(base, base / "work", base / "outside", tmp, base / "tmpdir", base / "codex_home")
    for d in (lay.work / ".git", lay.outside, lay.tmpdir, lay.codex_home / "memories"):
        d.mkdir(parents=True)
    (lay.work / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    for top in (base, tmp):
        for path in (top, *top.rglob("*")):
            os.chown(path, runner.uid, runner.uid)
    yield lay
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


def _run(runner: Runner, lay: Layout, mode: str, argv: list[str], *, network: bool = False,
         disable: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(lay.base), "TMPDIR": str(lay.tmpdir),
           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    if disable:
        env["CODEX_SANDBOX_TEST_DISABLE"] = disable
    spec = {"mode": mode, "cwd": str(cwd or lay.work), "argv": argv, "network": network,
            "codex_home": str(lay.codex_home)}
    return subprocess.run([*runner.prefix, runner.python, "-c", DRIVER, json.dumps(spec)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def _sh(runner: Runner, lay: Layout, mode: str, script: str, *, network: bool = False,
        disable: str | None = None) -> subprocess.CompletedProcess[str]:
    return _run(runner, lay, mode, ["/bin/sh", "-c", script], network=network, disable=disable)


@dataclass(frozen=True)
class Case:
    name: str
    script: str
    target: str | None  # a path that exists afterwards iff the operation was allowed
    read_only: bool  # allowed under read-only?
    workspace_write: bool  # allowed under workspace-write?
    danger: bool = True  # allowed unsandboxed? (the control: a denial must come from the sandbox)


TCP_CONNECT = "{python} -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 5)'"
# sandbox.md §10, judged allowed/denied (Landlock denials are EACCES where codex-rs shows EROFS).
MATRIX = [
    Case("write_cwd", "echo x > {work}/f", "{work}/f", False, True),
    Case("write_slash_tmp", "echo x > {tmp}/f", "{tmp}/f", False, True),
    Case("write_tmpdir", 'echo x > "$TMPDIR/f"', "{tmpdir}/f", False, True),
    Case("write_outside_roots", "echo x > {outside}/f", "{outside}/f", False, False),
    Case("mkdir_outside_roots", "mkdir {outside}/d", "{outside}/d", False, False),
    Case("write_git_dir", "echo x > {work}/.git/f", "{work}/.git/f", False, False),
    Case("append_git_head", "echo x >> {work}/.git/HEAD && grep -q x {work}/.git/HEAD", None, False, False),
    Case("mkdir_missing_codex", "mkdir {work}/.codex", "{work}/.codex", False, False),
    Case("mkdir_missing_agents_tree", "mkdir -p {work}/.agents/skills", "{work}/.agents", False, False),
    Case("nested_git_is_writable", "mkdir -p {work}/sub/.git && echo x > {work}/sub/.git/f", "{work}/sub/.git/f",
         False, True),
    Case("write_codex_home_memories", "echo x > {codex_home}/memories/f", "{codex_home}/memories/f", False, True),
    Case("write_codex_home", "echo x > {codex_home}/f", "{codex_home}/f", False, False),
    Case("read_etc_passwd", "head -c 10 /etc/passwd", None, True, True),
    Case("write_dev_null", "echo x > /dev/null", None, True, True),
    Case("tcp_connect_local_listener", TCP_CONNECT, None, False, False),
    Case("network_disabled_env_seen", 'test "$CODEX_SANDBOX_NETWORK_DISABLED" = 1', None, True, True, False),
]


@linux_only
@pytest.mark.parametrize("mode", ["read-only", "workspace-write", "danger-full-access"])
@pytest.mark.parametrize("case", MATRIX, ids=[c.name for c in MATRIX])
def test_matrix_operation_is_allowed_or_denied(runner: Runner, layout: Layout, listener: int, mode: str,
                                               case: Case) -> None:
    values = {**layout.fields(), "python": runner.python, "port": str(listener)}
    result = _sh(runner, layout, mode, case.script.format(**values))
    allowed = {"read-only": case.read_only, "workspace-write": case.workspace_write}.get(mode, case.danger)
    detail = f"{runner.name} {mode}: rc={result.returncode} stderr={result.stderr!r}"
    assert (result.returncode == 0) == allowed, detail
    if case.target is not None:
        assert Path(case.target.format(**values)).exists() == allowed, f"file left behind? {detail}"
    assert "could not confine" not in result.stderr
    created = {Path(case.target).name} if allowed and case.target else set()
    left = {p.name for p in layout.work.iterdir()} & {".codex", ".agents", ".aws"}
    assert left == created & {".codex", ".agents", ".aws"}, "placeholders must be removed"


@linux_only
def test_network_access_reaches_listener_and_leaves_env_unset(runner: Runner, layout: Layout, listener: int) -> None:
    script = TCP_CONNECT.format(python=runner.python, port=listener) + ' && test -z "$CODEX_SANDBOX_NETWORK_DISABLED"'
    result = _sh(runner, layout, "workspace-write", script, network=True)
    assert result.returncode == 0, result.stderr
    assert _sh(runner, layout, "workspace-write", f"echo x > {layout.outside}/f", network=True).returncode != 0


@linux_only
@pytest.mark.parametrize(("script", "status"), [("exit 3", 3), ("kill -9 $$", 137), ("kill -TERM $$", 143)],
                         ids=["exit_3", "sigkill", "sigterm"])
def test_exit_status_passes_through(runner: Runner, layout: Layout, script: str, status: int) -> None:
    assert _sh(runner, layout, "read-only", script).returncode == status


@linux_only
def test_command_not_found_exits_101(runner: Runner, layout: Layout) -> None:
    result = _run(runner, layout, "workspace-write", ["no-such-command-codex-xyz"])
    assert result.returncode == 101
    assert "no-such-command-codex-xyz" in result.stderr


@linux_only
def test_git_file_protects_the_gitdir_it_names(runner: Runner, layout: Layout) -> None:
    shutil.rmtree(layout.work / ".git")
    store = layout.work / "gitstore"
    store.mkdir()
    (layout.work / ".git").write_text("gitdir: gitstore\n", encoding="utf-8")
    for path in (store, layout.work / ".git"):
        os.chown(path, runner.uid, runner.uid)
    assert _sh(runner, layout, "workspace-write", f"echo x > {store}/f").returncode != 0
    assert _sh(runner, layout, "workspace-write", f"echo x >> {layout.work}/.git").returncode != 0
    assert _sh(runner, layout, "workspace-write", f"echo x > {layout.work}/ok").returncode == 0
    assert not (store / "f").exists()
    assert (layout.work / ".git").read_text(encoding="utf-8") == "gitdir: gitstore\n"


@linux_only
def test_without_namespaces_landlock_still_confines_and_warns(runner: Runner, layout: Layout,
                                                              listener: int) -> None:
    if probe_capabilities().landlock_abi == 0:
        pytest.skip("Landlock is unavailable here")
    result = _sh(runner, layout, "workspace-write", f"echo x > {layout.work}/f && echo x > {layout.outside}/f",
                 disable="userns")
    assert result.returncode != 0 and (layout.work / "f").exists() and not (layout.outside / "f").exists()
    assert "not write-protected" in result.stderr and ".git" in result.stderr
    tcp = _sh(runner, layout, "workspace-write", TCP_CONNECT.format(python=runner.python, port=listener),
              disable="userns")
    assert tcp.returncode != 0


@linux_only
def test_without_landlock_read_only_mounts_confine_and_warn(runner: Runner, layout: Layout) -> None:
    caps = probe_capabilities()
    if caps.namespaces == "none" or not caps.mount_setattr:
        pytest.skip("namespaces or mount_setattr are unavailable here")
    script = f"echo x > {layout.work}/f && echo x > {layout.work}/.git/f; echo x > {layout.outside}/f"
    result = _sh(runner, layout, "workspace-write", script, disable="landlock")
    assert "Landlock is unavailable" in result.stderr
    assert (layout.work / "f").exists()
    assert not (layout.work / ".git" / "f").exists() and not (layout.outside / "f").exists()


@linux_only
def test_without_seccomp_network_namespace_still_blocks_and_warns(runner: Runner, layout: Layout,
                                                                  listener: int) -> None:
    if probe_capabilities().namespaces == "none":
        pytest.skip("namespaces are unavailable here")
    result = _sh(runner, layout, "read-only", TCP_CONNECT.format(python=runner.python, port=listener),
                 disable="seccomp")
    assert result.returncode != 0
    assert "seccomp is unavailable" in result.stderr


@linux_only
def test_no_filesystem_layer_refuses_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_SANDBOX_TEST_DISABLE", "landlock,userns")
    with pytest.raises(SandboxError, match="Landlock is unavailable"):
        prepare(SandboxPolicy.from_config("workspace-write", tmp_path), os.environ)


# ------------------------------------------------------------------------------------------------ in-process


def _popen(prepared: PreparedSandbox, script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(prepared.command(["/bin/sh", "-c", script]), cwd=cwd, preexec_fn=prepared.preexec,
                          env={**os.environ, **prepared.env_updates}, capture_output=True, text=True, check=False)


@linux_only
def test_prepared_sandbox_is_reusable_and_close_removes_placeholders(tmp_path: Path) -> None:
    caps_or_skip()
    work = tmp_path / "w"
    work.mkdir()
    policy = SandboxPolicy.from_config("workspace-write", work, exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
    with prepare(policy, os.environ) as prepared:
        if probe_capabilities().namespaces != "none":
            assert {p.name for p in prepared.placeholders} == {".git", ".codex", ".agents", ".aws"}
        for _ in range(2):
            assert _popen(prepared, "echo x > a && mkdir .codex", work).returncode != 0
        assert (work / "a").exists()
    assert sorted(p.name for p in work.iterdir()) == ["a"]


@linux_only
def test_placeholder_shared_by_two_sandboxes_outlives_the_first_close(tmp_path: Path) -> None:
    caps_or_skip()
    if probe_capabilities().namespaces == "none":
        pytest.skip("placeholders need mount namespaces")
    policy = SandboxPolicy.from_config("workspace-write", tmp_path, codex_home=tmp_path / "home")
    first = prepare(policy, os.environ)
    second = prepare(policy, os.environ)
    assert (tmp_path / ".codex") in first.placeholders and (tmp_path / ".codex") in second.placeholders
    first.close()
    assert (tmp_path / ".codex").is_dir()
    assert [p.name for p in (tmp_path / "home" / "sandbox" / "placeholders").iterdir()] == [f"{os.getpid()}.json"]
    second.close()
    assert not (tmp_path / ".codex").exists()
    assert list((tmp_path / "home" / "sandbox" / "placeholders").iterdir()) == []


@linux_only
def test_reap_stale_removes_only_empty_placeholders_of_dead_processes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()

    def entry(path: Path, other_dir: bool = False) -> dict[str, object]:
        path.mkdir()
        st = path.stat()
        return {"path": str(path), "dev": st.st_dev, "ino": st.st_ino + other_dir, "ctime_ns": st.st_ctime_ns}

    ours, filled, replaced, alive = (tmp_path / n for n in ("ours", "filled", "replaced", "alive"))
    record = {"pid": dead.pid, "start": 1, **sandbox_linux._host_identity(),
              "placeholders": [entry(ours), entry(filled), entry(replaced, other_dir=True)]}
    (filled / "kept").write_text("x", encoding="utf-8")
    (state / f"{dead.pid}.json").write_text(json.dumps(record), encoding="utf-8")
    live = {"pid": os.getppid(), "start": sandbox_linux._process_start(os.getppid()), **sandbox_linux._host_identity(),
            "placeholders": [entry(alive)]}
    (state / "live.json").write_text(json.dumps(live), encoding="utf-8")
    sandbox_linux.Placeholders().reap_stale(state)
    assert not ours.exists() and filled.is_dir() and replaced.is_dir() and alive.is_dir()
    assert [p.name for p in state.iterdir()] == ["live.json"]


def test_windows_prepare_confines_nothing_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEX_SANDBOX_TEST_PLATFORM", "win32")
    for mode in ("read-only", "workspace-write"):
        prepared = prepare(SandboxPolicy.from_config(mode, tmp_path), os.environ)
        assert not prepared.confined and prepared.preexec is None and prepared.argv_prefix == ()
        assert not prepared.env_updates, "nothing may claim the network is off"
        assert len(prepared.warnings) == 1 and "NOT sandboxed" in prepared.warnings[0] and mode in prepared.warnings[0]
    assert prepare(SandboxPolicy("danger-full-access"), os.environ).warnings == ()


@pytest.mark.parametrize(("policy", "cmd", "action"), [
    ("never", "touch x", "reject"), ("never", "ls", "run"), ("on-request", "touch x", "ask"),
    ("untrusted", "touch x", "ask"), ("on-failure", "cat README.md", "run"), ("never", "rm -rf x", "reject"),
])
def test_unconfinable_sandbox_makes_approvals_the_control(policy: str, cmd: str, action: str) -> None:
    from codex_cli import safety

    assessment = safety.assess_command(["bash", "-lc", cmd], policy=policy,  # type: ignore[arg-type]
                                       sandbox_mode="workspace-write", escalation_requested=False,
                                       justification=None, confinable=False)
    assert assessment.action == action
    assert not assessment.sandboxed and not assessment.retry_unsandboxed_on_failure
    if action == "reject" and cmd == "touch x":
        assert "`workspace-write` sandbox" in str(assessment.reason)


@linux_only
def test_confinement_failure_never_runs_the_command(tmp_path: Path) -> None:
    plan = sandbox_linux.LinuxPlan(
        namespaces=probe_capabilities().namespaces, unshare_net=True, readonly_root=False, writable_roots=(),
        rw_submounts=(), protected=("/etc/passwd/not-a-dir",), creatable=(), private_shm=False, landlock_abi=0,
        landlock_net=False, seccomp="none", mount_setattr=True,
    )
    if plan.namespaces == "none":
        plan = replace(plan, landlock_abi=99)  # an impossible ABI fails at create_ruleset
    marker = tmp_path / "ran"
    result = subprocess.run(["/bin/sh", "-c", f"touch {marker}"], preexec_fn=sandbox_linux.ChildConfinement(plan),
                            capture_output=True, text=True, check=False)
    assert result.returncode == 101
    assert "could not confine the command" in result.stderr
    assert not marker.exists()


# ------------------------------------------------------------------------------------------------ CLI


def _codex(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from codex_cli.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "CODEX_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("CODEX_SANDBOX_TEST_DISABLE", None)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.fixture
def cli_dirs() -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="codex-sbx-cli-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    (base / "work").mkdir()
    (base / "home").mkdir()
    yield base / "work", base / "home"
    shutil.rmtree(base, ignore_errors=True)


@linux_only
def test_cli_read_only_write_fails_with_one_clear_hint(cli_dirs: tuple[Path, Path]) -> None:
    caps_or_skip()
    work, home = cli_dirs
    result = _codex(["sandbox", "linux", "--", "/bin/sh", "-c", "echo x > f"], work, home)
    assert result.returncode != 0
    assert not (work / "f").exists()
    assert result.stderr.count("failed in the read-only sandbox, where every write is refused") == 1
    assert "sandbox_mode=\"workspace-write\"" in result.stderr


@linux_only
def test_cli_full_auto_allows_writes_in_cwd(cli_dirs: tuple[Path, Path]) -> None:
    caps_or_skip()
    work, home = cli_dirs
    result = _codex(["sandbox", "linux", "--full-auto", "--", "/bin/sh", "-c", "echo x > f"], work, home)
    assert result.returncode == 0, result.stderr
    assert (work / "f").exists()
    config = _codex(["debug", "landlock", "-c", 'sandbox_mode="workspace-write"', "touch", "g"], work, home)
    assert config.returncode == 0, config.stderr
    assert (work / "g").exists()


def test_cli_windows_runs_nothing_and_says_why(cli_dirs: tuple[Path, Path]) -> None:
    work, home = cli_dirs
    result = _codex(["sandbox", "windows", "--", "/bin/sh", "-c", "echo x > f"], work, home)
    assert result.returncode == 1
    assert "Windows has no OS-level sandbox" in result.stderr
    assert not (work / "f").exists()


def test_cli_empty_command_is_an_error(cli_dirs: tuple[Path, Path]) -> None:
    work, home = cli_dirs
    platform = "macos" if sys.platform == "darwin" else "linux"
    result = _codex(["sandbox", platform, "--"], work, home)
    assert result.returncode == 1
    assert "must not be empty" in result.stderr


def test_cli_unknown_platform_is_a_usage_error(cli_dirs: tuple[Path, Path]) -> None:
    work, home = cli_dirs
    result = _codex(["sandbox", "solaris", "--", "true"], work, home)
    assert result.returncode == 2
    assert "linux, macos, windows" in result.stderr


@linux_only
def test_namespace_probe_falls_back_to_the_next_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root tries `direct` first; when that fails (root without CAP_SYS_ADMIN, as in a default Docker container),
    `user` is tried next, and only then."""
    real = sandbox_linux._namespace_probe
    tried: list[int] = []

    def no_direct(flags: int, maps: tuple[tuple[bytes, bytes], ...]) -> object:
        tried.append(flags)
        return (lambda: os._exit(1)) if not flags & sandbox_linux._CLONE_NEWUSER else real(flags, maps)

    monkeypatch.setattr(sandbox_linux, "_namespace_probe", no_direct)
    got = sandbox_linux.start_namespace_probe(0)()
    assert [bool(flags & sandbox_linux._CLONE_NEWUSER) for flags in tried] == [False, True]
    user_flags = tried[1]
    pid = os.fork()
    if pid == 0:  # the `user` probe alone, as the fallback ran it
        try:
            real(user_flags, sandbox_linux._id_maps(os.geteuid(), os.getegid()))()
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert got == ("user" if os.waitstatus_to_exitcode(status) == 0 else "none")
