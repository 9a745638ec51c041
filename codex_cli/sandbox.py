"""Sandbox policies and how they are enforced: Linux (Landlock, seccomp, namespaces), macOS Seatbelt, `codex sandbox`.

A `SandboxPolicy` says what a command may write and whether it may use the network. `prepare()` turns it, in
the parent, into a `PreparedSandbox`: a `preexec` callable that confines the forked child before `execve`
(Linux), or an `argv_prefix` (`sandbox-exec` on macOS), plus the environment variables to add and the
warnings that say once what this machine cannot enforce. A policy that cannot be enforced at all raises
`SandboxError`; a command never runs unconfined by surprise.

Linux layers (see /work/shared/reference/linux-sandbox-primitives.md): a private mount namespace whose `/` is
read-only except the writable roots, read-only binds over `.git`, `.codex`, `.agents`, `.aws` at the top of
each project root (an empty placeholder directory is created for a missing one, never in /tmp or $TMPDIR; it
is removed by `PreparedSandbox.close()`, at exit, on SIGTERM/SIGHUP, or, after a SIGKILL, by the next
`prepare()` from its record under $CODEX_HOME), an empty network namespace, `no_new_privs`, a Landlock
ruleset and a seccomp filter. Non-root users get the namespaces through a user namespace; root unshares them
directly and loses the capabilities that could undo them. `CODEX_SANDBOX_TEST_DISABLE=landlock,userns,seccomp`
(tests only) pretends a layer is missing.

Windows has nothing to confine with: `prepare()` says so in a warning and returns an unconfined sandbox
(`confined=False`), and approvals become the control (`safety.assess_command(confinable=False)`).
`CODEX_SANDBOX_TEST_PLATFORM=win32` (tests only, read by `host_platform()`) takes that path on any OS.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import signal
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Literal

from codex_cli import sandbox_linux
from codex_cli.errors import ConfigError, SandboxError, UsageError
from codex_cli.records import Record, field, replace
from codex_cli.seatbelt import seatbelt_argv, seatbelt_profile

__all__ = [
    "PROTECTED_NAMES",
    "Capabilities",
    "PreparedSandbox",
    "SandboxMode",
    "SandboxPolicy",
    "host_platform",
    "prepare",
    "probe_capabilities",
    "run_sandboxed_command",
    "sandbox_cli_main",
    "sandbox_command_main",
    "seatbelt_profile",
    "start_probing",
]

SandboxMode = Literal["read-only", "workspace-write", "danger-full-access"]
_MODES: tuple[SandboxMode, ...] = ("read-only", "workspace-write", "danger-full-access")
PROTECTED_NAMES = (".git", ".codex", ".agents", ".aws")  # read-only at the top of every writable root
_TEST_DISABLE_VAR = "CODEX_SANDBOX_TEST_DISABLE"
_TEST_PLATFORM_VAR = "CODEX_SANDBOX_TEST_PLATFORM"
_WINDOWS_WARNING = (
    "commands are NOT sandboxed on Windows: there is no OS confinement to lean on, so they run as you with "
    "all your permissions; under {mode}, every command that is not known to be read-only needs your approval "
    "first (codex exec, which cannot ask, refuses it)"
)
_READ_ONLY_HINT = (
    "codex sandbox: the command failed in the read-only sandbox, where every write is refused; if it needed "
    "to write, pass -c 'sandbox_mode=\"workspace-write\"' to allow writes in the current directory"
)


class SandboxPolicy(Record):
    """What a sandboxed command may do. `writable_roots` are resolved paths (cwd first, then --add-dir,
    then `sandbox_workspace_write.writable_roots`) and matter only in workspace-write."""

    mode: SandboxMode
    writable_roots: tuple[Path, ...] = ()
    network_access: bool = False
    include_tmp: bool = True
    include_tmpdir_env: bool = True
    codex_home: Path | None = None
    approved_targets: tuple[Path, ...] = ()  # files the person allowed this once (a patch): writable in any mode

    @classmethod
    def from_config(
        cls,
        sandbox_mode: str,
        cwd: Path,
        *,
        writable_roots: Iterable[Path | str] = (),
        network_access: bool = False,
        exclude_tmpdir_env_var: bool = False,
        exclude_slash_tmp: bool = False,
        add_dirs: Iterable[Path | str] = (),
        codex_home: Path | None = None,
    ) -> SandboxPolicy:
        """The policy of `sandbox_mode` plus `[sandbox_workspace_write]` and `--add-dir` (relative to `cwd`)."""
        if sandbox_mode not in _MODES:
            raise ConfigError(f"unknown sandbox_mode '{sandbox_mode}'; use one of: {', '.join(_MODES)}")
        mode = sandbox_mode
        workspace = mode == "workspace-write"
        roots = [cwd, *add_dirs, *writable_roots] if workspace else []
        return cls(
            mode=mode,
            writable_roots=tuple(_unique((cwd / Path(r).expanduser()).resolve() for r in roots)),
            network_access=network_access and workspace,
            include_tmp=not exclude_slash_tmp,
            include_tmpdir_env=not exclude_tmpdir_env_var,
            codex_home=codex_home,
        )

    def effective_writable_roots(self, env: Mapping[str, str]) -> list[Path]:
        """Every root a command may write under: the configured roots, /tmp, $TMPDIR, $CODEX_HOME/memories, and
        the nearest existing directory of each approved target."""
        roots: list[Path] = []
        if self.mode == "workspace-write":
            roots = list(self.writable_roots)
            roots += self.temporary_roots(env)
            memories = self.memories_root()
            if memories is not None:
                roots.append(memories)
        roots += [_nearest_directory(target) for target in self.approved_targets]
        return _unique(roots)

    def temporary_roots(self, env: Mapping[str, str]) -> list[Path]:
        """/tmp and $TMPDIR, when they are writable roots (workspace-write, not excluded)."""
        if self.mode != "workspace-write":
            return []
        roots = [Path("/tmp").resolve()] if self.include_tmp else []
        tmpdir = env.get("TMPDIR")
        if self.include_tmpdir_env and tmpdir:
            roots.append(Path(tmpdir).resolve())
        return roots

    def memories_root(self) -> Path | None:
        """`$CODEX_HOME/memories`, a writable root under workspace-write; None when it is not a plain directory
        inside CODEX_HOME: a symlink there (`memories -> /`) must not make its target writable."""
        if self.codex_home is None or self.mode != "workspace-write":
            return None
        home = self.codex_home.resolve()
        memories = home / "memories"
        try:
            if memories.is_symlink() or memories.resolve().parent != home:
                return None
        except OSError:
            return None
        return memories

    def protected_paths(self, env: Mapping[str, str]) -> list[Path]:
        """Paths kept read-only inside the writable roots: the protected names at the top of each project root
        (cwd, --add-dir, configured roots; existing or not), the gitdir that a `.git` file names, and
        $CODEX_HOME when a root holds it (its config, rules and credentials; `memories` in it stays writable).
        The shared temporary roots get no names: a placeholder left in /tmp by a killed process would make
        every directory under it look like a git repository. A path that holds an approved target is left
        writable for it."""
        paths: list[Path] = []
        if self.mode != "workspace-write":
            return paths
        for root in _unique(root.resolve() for root in self.writable_roots):
            for name in PROTECTED_NAMES:
                paths.append(root / name)
            gitdir = _gitdir_named_by(root / ".git")
            if gitdir is not None:
                paths.append(gitdir)
        for root in self.temporary_roots(env):  # existing names only: no placeholder belongs there
            paths += [root / name for name in PROTECTED_NAMES if os.path.lexists(root / name)]
        # A protected name that is a symlink: the name itself (which must not be replaced by a folder of the
        # command's making) and where it points (which must not be written through it).
        paths += [real_path(p) for p in paths if os.path.islink(p)]
        if self.codex_home is not None:
            home = self.codex_home.resolve()
            if any(_is_within(home, root) for root in self.effective_writable_roots(env)):
                paths.append(home)
        targets = [Path(os.path.abspath(t)) for t in self.approved_targets]
        return [p for p in _unique(paths) if not any(_is_within(t, p) for t in targets)]


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def real_path(path: Path) -> Path:
    """`path` with its links resolved as far as they resolve now. A link that changes while it is read (a process
    racing the check) makes os.path.realpath raise; the path is then taken as written (absolute), which the
    sandboxed write judges again anyway."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


def _nearest_directory(target: Path) -> Path:
    """The deepest existing directory on the way to `target` (which may not exist yet), resolved."""
    for candidate in (target.parent, *target.parent.parents):
        try:
            if candidate.is_dir():
                return candidate.resolve()
        except OSError:
            continue
    return Path("/")


def _gitdir_named_by(git: Path) -> Path | None:
    """The directory a `.git` file (`gitdir: PATH`, as in worktrees and submodules) points to."""
    try:
        if not git.is_file():
            return None
        text = git.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("gitdir:"):
            return (git.parent / line[len("gitdir:") :].strip()).resolve()
    return None


_ASCII_SWAP = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def case_insensitive_volume(path: Path) -> bool:
    """Whether names looked up in the directory `path` (or its nearest existing ancestor) match regardless of
    case, as on APFS and HFS+ by default: there `.GIT/config` is `.git/config`. Decided by probing, not by
    platform: an existing name is looked up again with its ASCII letters case-swapped, in the directory itself
    (its entries) or in an ancestor on the same device (the directory's own name). True when nothing decides it
    (no name with a letter, unreadable directories): a protection that is too broad only refuses a write."""
    directory = Path(os.path.abspath(path))
    while not os.path.isdir(directory) and directory != directory.parent:
        directory = directory.parent
    try:
        device = os.stat(directory).st_dev
    except OSError:
        return True
    child = directory
    while child != child.parent:  # the directory's name, and its ancestors', while they are on its device
        try:
            if os.stat(child.parent).st_dev != device:
                break
        except OSError:
            break
        answer = _swapped_lookup(child.parent, child.name)
        if answer is not None:
            return answer
        child = child.parent
    try:
        with os.scandir(directory) as entries:
            for count, entry in enumerate(entries):
                answer = _swapped_lookup(directory, entry.name)
                if answer is not None:
                    return answer
                if count >= 64:  # the first entries decide it, if any can; no walk through a huge folder
                    break
    except OSError:
        pass
    return True


def _swapped_lookup(directory: Path, name: str) -> bool | None:
    """True when `name` with its ASCII letters case-swapped names the same file in `directory`, False when it
    names nothing or another file (both spellings exist: case matters), None when it cannot tell."""
    swapped = name.translate(_ASCII_SWAP)
    if swapped == name:
        return None
    try:
        original = os.lstat(directory / name)
    except OSError:
        return None
    try:
        other = os.lstat(directory / swapped)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return (other.st_dev, other.st_ino) == (original.st_dev, original.st_ino)


# ----------------------------------------------------------------------------------------------------------
# capabilities


def host_platform() -> str:
    """`sys.platform`, or `win32` when CODEX_SANDBOX_TEST_PLATFORM=win32 (tests only: the Windows path, which
    confines nothing, can then be exercised on any OS). The only place that reads the switch."""
    return "win32" if os.environ.get(_TEST_PLATFORM_VAR) == "win32" else sys.platform


class Capabilities(Record):
    """What this machine offers the sandbox. `namespaces` is how a child gets private mount and network
    namespaces: `direct` (root), `user` (through an unprivileged user namespace) or `none`."""

    platform: str
    kernel: str
    landlock_abi: int
    seccomp: bool
    namespaces: sandbox_linux.NamespaceMethod
    mount_setattr: bool
    is_root: bool
    disabled: tuple[str, ...] = ()


@functools.cache
def _namespace_probe(euid: int) -> Callable[[], sandbox_linux.NamespaceMethod]:
    return sandbox_linux.start_namespace_probe(euid)  # waited for once, by the cached `_probe_machine`


def start_probing() -> None:
    """Start the slow part of `probe_capabilities` (forked namespace probes) so it runs while the caller goes on."""
    if sys.platform == "linux":
        _namespace_probe(os.geteuid())


@functools.cache
def _probe_machine(euid: int) -> Capabilities:
    if sys.platform != "linux":
        return Capabilities(sys.platform, os.uname().release if hasattr(os, "uname") else "", 0, False, "none",
                            False, False)
    return Capabilities(
        platform=sys.platform,
        kernel=os.uname().release,
        landlock_abi=sandbox_linux.probe_landlock_abi(),
        seccomp=sandbox_linux.probe_seccomp(),
        namespaces=_namespace_probe(euid)(),
        mount_setattr=sandbox_linux.probe_mount_setattr(),
        is_root=euid == 0,
    )


def probe_capabilities() -> Capabilities:
    """This machine's sandbox layers (probed once per process), minus those named in CODEX_SANDBOX_TEST_DISABLE."""
    if sys.platform == "linux":
        caps = _probe_machine(os.geteuid())
    else:
        caps = _probe_machine(-1)
    disabled = tuple(sorted({w.strip() for w in os.environ.get(_TEST_DISABLE_VAR, "").split(",") if w.strip()}))
    if not disabled:
        return caps
    no_ns = "userns" in disabled or "namespaces" in disabled
    return replace(
        caps,
        landlock_abi=0 if "landlock" in disabled else caps.landlock_abi,
        seccomp=caps.seccomp and "seccomp" not in disabled,
        namespaces="none" if no_ns else caps.namespaces,
        disabled=disabled,
    )


# ----------------------------------------------------------------------------------------------------------
# prepare


# The one mutable module global: placeholders are shared state of the process, like its file descriptors.
_PLACEHOLDERS = sandbox_linux.Placeholders()


class PreparedSandbox(Record):
    """A policy made ready to confine commands: pass `preexec` to `subprocess.Popen(preexec_fn=...)`, prefix
    the argv with `argv_prefix`, add `env_updates` to its environment, show `warnings` once, and call
    `close()` (or use `with`) when no more commands will run. Reusable for many commands.

    `confined` is False where the OS offers nothing to confine with (Windows): commands then run as the
    user, a warning says so, and approvals are the only control (`safety.assess_command(confinable=False)`).
    """

    preexec: Callable[[], None] | None
    env_updates: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()
    argv_prefix: tuple[str, ...] = ()
    writable_roots: tuple[Path, ...] = ()
    placeholders: tuple[Path, ...] = ()
    confined: bool = True
    policy: SandboxPolicy | None = None
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)
    _cleanup: Callable[[], object] = field(default=lambda: None, repr=False, compare=False)

    def command(self, argv: Sequence[str]) -> list[str]:
        """The argv to spawn for `argv`."""
        return [*self.argv_prefix, *argv]

    def allowing(self, targets: Sequence[Path]) -> PreparedSandbox:
        """A sandbox like this one whose processes may also write `targets` (files the person approved, with
        their missing parent directories); close it after use. This one when there is nothing to add."""
        if not targets or self.policy is None or not self.confined:
            return self
        return prepare(replace(self.policy, approved_targets=tuple(targets)), self.env)

    def run_confined(self, job: str, payload: bytes, cwd: Path, *, reexec: bool = False) -> bytes:
        """Run the confined job `job` (a name of `CONFINED_JOBS`) on `payload` in a child process confined like
        the commands, in `cwd`; what the job returned.

        On Linux the child is a fork of this process, which confines itself and calls the job. Where the
        confinement is a program to run (Seatbelt's `sandbox-exec`), or with `reexec`, this program is run again
        under it (`self_command()`), with the payload on its stdin. Raises `SandboxError` when the child could
        not be confined or the job raised."""
        if self.preexec is not None and not reexec:
            return _run_forked(self.preexec, job, payload, cwd)
        program, env = self_command({**self.env, **self.env_updates})
        return _run_helper(self.command([*program, CONFINED_JOB_FLAG, job]), payload, cwd, env, self.preexec)

    def close(self) -> None:
        """Remove the placeholders; call once the commands confined with this sandbox have exited."""
        self._cleanup()

    def __enter__(self) -> PreparedSandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def prepare(policy: SandboxPolicy, env: Mapping[str, str]) -> PreparedSandbox:
    """Make `policy` ready for commands whose environment is based on `env`.

    Raises SandboxError when the policy restricts files but this machine offers no way to confine writes.
    """
    if policy.mode == "danger-full-access":
        return PreparedSandbox(preexec=None)
    if host_platform() == "win32":
        # Nothing to lean on: no environment variable may claim the network is off.
        return PreparedSandbox(preexec=None, warnings=(_WINDOWS_WARNING.format(mode=policy.mode),),
                               writable_roots=tuple(policy.effective_writable_roots(env)), confined=False,
                               policy=policy, env=env)
    env_updates = {} if policy.network_access else {"CODEX_SANDBOX_NETWORK_DISABLED": "1"}
    if sys.platform == "darwin":
        env_updates["CODEX_SANDBOX"] = "seatbelt"
        return PreparedSandbox(preexec=None, env_updates=MappingProxyType(env_updates),
                               argv_prefix=tuple(seatbelt_argv(policy, env)), warnings=tuple(_policy_warnings(policy)),
                               writable_roots=tuple(policy.effective_writable_roots(env)), policy=policy, env=env)
    if sys.platform != "linux":
        raise SandboxError(
            f"commands cannot be sandboxed on {sys.platform}: this implementation has no {policy.mode} "
            "sandbox here, so nothing was run",
            "Use -s danger-full-access only inside a VM or container you trust.",
        )
    return _prepare_linux(policy, env, probe_capabilities(), env_updates)


def _prepare_linux(policy: SandboxPolicy, env: Mapping[str, str], caps: Capabilities,
                   env_updates: dict[str, str]) -> PreparedSandbox:
    readonly_root = caps.namespaces != "none" and caps.mount_setattr
    if caps.landlock_abi == 0 and not readonly_root:
        raise SandboxError(
            f"cannot confine file writes for the {policy.mode} sandbox: Landlock is unavailable "
            f"(kernel {caps.kernel}) and {_no_namespace_reason(caps)}",
            "Enable Landlock (Linux 5.13+, `lsm=...,landlock` on the kernel command line) or unprivileged user "
            "namespaces; or run codex inside a disposable VM or container with -s danger-full-access.",
        )
    if policy.mode == "workspace-write" and policy.codex_home is not None:
        try:
            (policy.codex_home / "memories").mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # not creatable: it is then simply not a writable root
    roots = [r for r in policy.effective_writable_roots(env) if _is_writable_dir(r)]
    protected, creatable, created = _protections(policy, env, roots) if caps.namespaces != "none" else ([], [], [])
    plan = sandbox_linux.LinuxPlan(
        namespaces=caps.namespaces,
        unshare_net=not policy.network_access,
        readonly_root=readonly_root,
        writable_roots=tuple(map(str, roots)),
        rw_submounts=_rw_submounts(roots) if readonly_root else (),
        protected=tuple(protected),
        creatable=tuple(creatable),
        reopened=tuple(str(r) for r in roots if any(r != Path(p) and _is_within(r, Path(p)) for p in protected)),
        private_shm=caps.namespaces != "none" and os.path.isdir("/dev/shm"),
        private_pts=caps.namespaces != "none" and os.path.isdir("/dev/pts") and os.path.exists("/dev/ptmx"),
        landlock_abi=caps.landlock_abi,
        landlock_net=not policy.network_access,
        seccomp=("vsock" if policy.network_access else "restricted") if caps.seccomp else "none",
        mount_setattr=caps.mount_setattr,
    )
    try:
        preexec = sandbox_linux.ChildConfinement(plan)
    except BaseException:
        _PLACEHOLDERS.release(created)
        raise
    prepared = PreparedSandbox(
        preexec=preexec,
        env_updates=MappingProxyType(env_updates),
        warnings=tuple(_policy_warnings(policy) + _linux_warnings(policy, caps)),
        writable_roots=tuple(roots),
        placeholders=tuple(created),
        policy=policy,
        env=env,
    )
    # Released by close(), or when the sandbox is garbage-collected, or at interpreter exit.
    finalizer = weakref.finalize(prepared, _PLACEHOLDERS.release, tuple(created))
    object.__setattr__(prepared, "_cleanup", finalizer)
    return prepared


def _protections(policy: SandboxPolicy, env: Mapping[str, str],
                 roots: Sequence[Path]) -> tuple[list[str], list[str], list[Path]]:
    """(paths to bind read-only, those the child may recreate as placeholders, placeholders made here).

    The shared temporary directories (/tmp, $TMPDIR) never get a placeholder, even as the cwd: one left
    behind there would show up in every project below them."""
    shared = {Path("/tmp").resolve(), *policy.temporary_roots(env)}
    names = {r / n for r in roots if r not in shared for n in PROTECTED_NAMES}
    paths = policy.protected_paths(env)
    state_dir = policy.codex_home / "sandbox" / "placeholders" if policy.codex_home is not None else None
    if state_dir is not None:
        _PLACEHOLDERS.reap_stale(state_dir)
    created = _PLACEHOLDERS.acquire([p for p in paths if p in names], state_dir)
    protected = [str(p) for p in paths if os.path.lexists(p)]  # links too: they are pinned, not followed
    creatable = [p for p in protected if Path(p) in names and not os.path.islink(p)]
    return protected, creatable, created


def _is_writable_dir(path: Path) -> bool:
    if sys.platform == "win32":
        return path.is_dir()
    try:
        return path.is_dir() and not os.statvfs(path).f_flag & os.ST_RDONLY
    except OSError:
        return False


def _rw_submounts(roots: Sequence[Path]) -> tuple[str, ...]:
    """Read-write mount points strictly below a writable root: they must be made writable again after `/`."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError:
        return ()
    found: list[str] = []
    prefixes = [str(r).rstrip("/") + "/" for r in roots]
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or "rw" not in fields[5].split(","):
            continue
        point = fields[4]
        if "\\" in point:  # mountinfo writes space, tab, newline and backslash as octal escapes
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), point)
        if any(point.startswith(p) for p in prefixes):
            found.append(point)
    return tuple(dict.fromkeys(found))


def _no_namespace_reason(caps: Capabilities) -> str:
    if "userns" in caps.disabled or "namespaces" in caps.disabled:
        return f"namespaces are disabled by {_TEST_DISABLE_VAR}"
    if caps.namespaces == "none":
        return "user namespaces cannot be created"
    return "mount_setattr(2) is missing (Linux 5.12+)"


def _policy_warnings(policy: SandboxPolicy) -> list[str]:
    if policy.mode != "workspace-write" or policy.codex_home is None or policy.memories_root() is not None:
        return []
    memories = policy.codex_home / "memories"
    if not os.path.lexists(memories):
        return []
    return [f"{memories} is a symlink or leaves {policy.codex_home}: it is not writable in the sandbox (a writable "
            "root is never taken through a link that points elsewhere); make it a plain directory to use it"]


# Work that runs inside the sandbox for codex itself, by name: a function of bytes to bytes.
CONFINED_JOBS = {"write-files": "codex_cli.patch:write_files_job"}
CONFINED_JOB_FLAG = "--codex-run-as-confined-job"


def _confined_job(job: str) -> Callable[[bytes], bytes]:
    import importlib

    module, _, name = CONFINED_JOBS[job].partition(":")
    function: Callable[[bytes], bytes] = getattr(importlib.import_module(module), name)
    return function


def confined_job_main(args: Sequence[str]) -> int:
    """`codex --codex-run-as-confined-job JOB`: the re-executed side of `PreparedSandbox.run_confined`, already
    under the sandbox. The payload is read from stdin, the job's output written to stdout; exit 1 on failure."""
    if len(args) != 1 or args[0] not in CONFINED_JOBS:
        _say(f"usage: codex {CONFINED_JOB_FLAG} {{{','.join(CONFINED_JOBS)}}} < PAYLOAD (for codex's own use)")
        return 2
    try:
        output = _confined_job(args[0])(sys.stdin.buffer.read())
    except Exception as exc:
        _say(f"{type(exc).__name__}: {exc}")
        return 1
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 0


def self_command(env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The argv that runs this program again (the frozen binary, the zipapp, or the package's `__main__` from
    wherever it was imported), and `env` with what that needs."""
    if getattr(sys, "frozen", False):
        return [sys.executable], dict(env)
    import codex_cli

    archive = getattr(getattr(codex_cli, "__loader__", None), "archive", None)  # zipimport: the zipapp's file
    if isinstance(archive, str):
        return [sys.executable, archive], dict(env)
    package_parent = str(Path(codex_cli.__file__ or ".").resolve().parents[1])
    path = os.pathsep.join(filter(None, (package_parent, env.get("PYTHONPATH"))))
    return [sys.executable, "-m", "codex_cli"], {**env, "PYTHONPATH": path}


def _run_forked(preexec: Callable[[], None], job: str, payload: bytes, cwd: Path) -> bytes:
    import subprocess

    work = _confined_job(job)  # imported here, not in the child
    result_read, result_write = os.pipe()

    def child() -> None:  # in the forked child: returns from preexec() only once confined, and never returns
        status = 1
        try:
            preexec()
            output = work(payload)
            status = 0
        except BaseException as exc:  # report, never fall back into subprocess's exec path
            output = f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")
        try:
            os.write(result_write, output[:_RESULT_LIMIT])
        finally:
            os._exit(status)

    try:
        # Never exec'd: the child runs the job and exits. subprocess forks it the way it forks the commands.
        run = subprocess.run(["codex-confined-job"], preexec_fn=child, cwd=cwd, stdin=subprocess.DEVNULL,
                             capture_output=True, check=False)
    finally:
        os.close(result_write)
    with open(result_read, "rb") as result:
        output = result.read()
    if run.returncode == 0:
        return output
    detail = run.stderr.decode("utf-8", "replace").strip() or output.decode("utf-8", "replace").strip()
    raise SandboxError(detail or f"the confined child ended with status {run.returncode}", "")


def _run_helper(argv: list[str], payload: bytes, cwd: Path, env: Mapping[str, str],
                preexec: Callable[[], None] | None) -> bytes:
    import subprocess

    run = subprocess.run(argv, cwd=cwd, env=dict(env), input=payload, capture_output=True, preexec_fn=preexec,
                         check=False)
    if run.returncode == 0:
        return run.stdout
    detail = run.stderr.decode("utf-8", "replace").strip()
    raise SandboxError(detail or f"the confined helper ended with status {run.returncode}", "")


_RESULT_LIMIT = 60_000  # below a pipe's buffer: the child writes it before anyone reads


def _linux_warnings(policy: SandboxPolicy, caps: Capabilities) -> list[str]:
    warnings: list[str] = []
    if caps.landlock_abi == 0:
        devices = "; as root, device files under /dev stay writable" if caps.is_root else ""
        warnings.append(f"Landlock is unavailable (kernel {caps.kernel}): file writes are confined only by "
                        f"read-only mounts{devices}")
    if caps.namespaces == "none":
        reason = _no_namespace_reason(caps)
        missing = []
        if policy.mode == "workspace-write":
            missing.append(f"{', '.join(PROTECTED_NAMES)} at the top of the writable roots (and a CODEX_HOME "
                           "inside one) are not write-protected")
        missing.append("commands see every process of this machine in /proc, command lines included, and can "
                       "write to your other terminals")
        if caps.landlock_abi < 6:
            missing.append("they can signal processes outside the sandbox (that needs Landlock ABI 6)")
        if not caps.seccomp:
            missing.append("ptrace, System V IPC and open_by_handle_at are not blocked, and processes that leave "
                           "the command's process group can outlive it")
        if not policy.network_access and not caps.seccomp:
            tcp = caps.landlock_abi >= 4
            missing.append("only TCP is blocked (by Landlock); UDP and other sockets are not" if tcp
                           else "network access is NOT blocked")
        warnings.append(f"{reason[0].upper()}{reason[1:]}, so the sandbox runs without namespaces: "
                        + "; ".join(missing))
    if not caps.seccomp and caps.namespaces != "none":
        if policy.network_access:
            warnings.append("seccomp is unavailable: io_uring and AF_VSOCK sockets are not blocked")
        else:
            warnings.append("seccomp is unavailable: network is blocked only by an empty network namespace; "
                            "unix sockets, ptrace and io_uring are not blocked")
    return warnings


# ----------------------------------------------------------------------------------------------------------
# running a command: `codex sandbox linux|macos|windows [...] -- CMD`


def run_sandboxed_command(policy: SandboxPolicy, argv: list[str], cwd: Path, env: Mapping[str, str]) -> int:
    """Run `argv` under `policy` with inherited stdio; its exit status (128+N when killed by signal N),
    or 101 (1 unsandboxed) when it cannot be executed. Warnings and errors go to stderr."""
    if not argv:
        _say("Error: sandbox command must not be empty")
        return 1
    with prepare(policy, env) as prepared:
        for warning in prepared.warnings:
            _say(f"codex sandbox: warning: {warning}")
        try:
            pid = _spawn(prepared.command(argv), cwd, {**env, **prepared.env_updates}, prepared.preexec)
        except OSError as exc:
            _say(f"codex sandbox: failed to execute {argv[0]}: {exc.strerror or exc}")
            return 1 if policy.mode == "danger-full-access" else sandbox_linux.SETUP_FAILED_EXIT
        return _wait(pid)


def _spawn(argv: list[str], cwd: Path, env: Mapping[str, str], preexec: Callable[[], None] | None) -> int:
    """Fork, confine the child with `preexec` and exec `argv` in it with our stdio; the child's pid, or OSError
    when it cannot be executed. What `subprocess.Popen(preexec_fn=...)` does for the session's commands, by hand
    here: `subprocess` and what it imports are ~3 ms of this one-shot command's start (scripts/bench_sandbox.py).
    """
    if sys.platform == "win32":  # nothing forks there: `codex sandbox windows` runs nothing (sandbox_command_main)
        raise OSError(errno.ENOSYS, "no fork on Windows")
    report_read, report_write = os.pipe()  # close-on-exec: the parent reads EOF once the exec succeeded
    pid = os.fork()
    if pid == 0:  # the child: whatever happens, it never returns into the parent's code
        errno_text = b"0"
        try:
            os.close(report_read)
            for name in ("SIGPIPE", "SIGXFSZ"):  # the interpreter ignores them; the command expects the default
                if hasattr(signal, name):
                    signal.signal(getattr(signal, name), signal.SIG_DFL)
            os.chdir(cwd)
            if preexec is not None:
                preexec()  # exits the child itself when it cannot confine it
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            errno_text = str(exc.errno or 0).encode()
        finally:
            os.write(report_write, errno_text)
            os._exit(sandbox_linux.SETUP_FAILED_EXIT)
    os.close(report_write)
    with open(report_read, "rb") as report:
        failure = report.read()
    if failure:
        os.waitpid(pid, 0)
        code = int(failure)
        raise OSError(code, os.strerror(code) if code else "the child failed before exec")
    return pid


def _wait(pid: int) -> int:
    # Like a shell: Ctrl-C and Ctrl-\ are for the command, which decides what they mean. SIGTERM and SIGHUP
    # sent to us are passed on, as if we were the command (codex-rs execs it); the sandbox closes after it.
    reaped = False

    def forward(signum: int, frame: object) -> None:
        if not reaped:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass  # reaped just now

    handlers: list[tuple[int, Callable[[int, object], None] | int]] = [(signal.SIGINT, signal.SIG_IGN)]
    for name, handler in (("SIGQUIT", signal.SIG_IGN), ("SIGTERM", forward), ("SIGHUP", forward)):
        number = getattr(signal, name, None)
        if number is not None:
            handlers.append((number, handler))
    main = threading.current_thread() is threading.main_thread()
    saved = [(s, signal.signal(s, h)) for s, h in handlers] if main else []
    try:
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        for sig, previous in saved:
            signal.signal(sig, previous)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _say(line: str) -> None:
    # `codex sandbox` is a front end: its diagnostics go straight to the terminal.
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


_ENTRY_PLATFORMS = {"sandbox": ("linux", "macos", "windows"), "debug": ("landlock", "seatbelt")}
_HOST_SANDBOX = {"linux": "linux", "darwin": "macos", "win32": "windows"}


def sandbox_cli_main(entry: str, args: list[str]) -> int:
    """`codex sandbox [PLATFORM] ...` (entry `sandbox`; without a platform, as in codex-rs 0.169, the host's)
    or `codex debug landlock|seatbelt ...` (entry `debug`)."""
    choices = _ENTRY_PLATFORMS.get(entry, _ENTRY_PLATFORMS["sandbox"])
    if entry == "sandbox" and args and args[0].startswith("-"):
        args = [_HOST_SANDBOX.get(host_platform(), host_platform()), *args]
    if not args or args[0] not in choices:
        got = f" '{args[0]}'" if args else ""
        raise UsageError(f"codex {entry} needs a platform{got}: one of {', '.join(choices)}",
                         f"Example: codex {entry} {choices[0]} -- ls")
    prog = f"codex {entry} {args[0]}"
    full_auto = log_denials = False
    overrides: list[str] = []
    rest = list(args[1:])
    while rest and rest[0].startswith("-") and rest[0] != "--":
        word = rest.pop(0)
        if word in ("-h", "--help"):
            sys.stdout.write(_SANDBOX_HELP.format(prog=prog))
            return 0
        if word == "--full-auto":
            full_auto = True
        elif word == "--log-denials":
            log_denials = True
        elif word in ("-c", "--config"):
            if not rest:
                raise UsageError(f"{prog}: {word} needs a value (key=value)", _SANDBOX_USAGE.format(prog=prog))
            overrides.append(rest.pop(0))
        elif word.startswith("--config="):
            overrides.append(word.removeprefix("--config="))
        elif word.startswith("-c") and not word.startswith("--"):
            overrides.append(word[2:])  # `-ckey=value`, as argparse takes it
        else:
            raise UsageError(f"{prog}: unknown option {word}", _SANDBOX_USAGE.format(prog=prog))
    return sandbox_command_main(args[0], rest, config_overrides=overrides, full_auto=full_auto,
                                log_denials=log_denials)


# Parsed by hand rather than with argparse, whose help formatter alone imports shutil, bz2 and lzma: this command
# wraps a single process, and its start-up is the cost it adds (see scripts/bench_sandbox.py).
_SANDBOX_USAGE = "usage: {prog} [--full-auto] [-c key=value]... [--log-denials] [--] COMMAND [ARG...]"
_SANDBOX_HELP = _SANDBOX_USAGE + """

Run COMMAND under the sandbox policy from config (read-only unless config or an option says otherwise).

options:
  -h, --help              show this help and exit
  --full-auto             workspace-write instead of read-only
  -c, --config key=value  override a config.toml value (repeatable)
  --log-denials           macOS: log sandbox denials (not supported)
"""


def sandbox_command_main(platform: str, argv: list[str], *, config_overrides: list[str], full_auto: bool,
                         log_denials: bool) -> int:
    """Run `argv` under the sandbox that config (or `--full-auto`: workspace-write) selects; the exit status."""
    target = {"landlock": "linux", "seatbelt": "macos"}.get(platform, platform)
    if target == "windows":
        _say("codex sandbox windows: Windows has no OS-level sandbox in this implementation, so nothing was run; "
             "use WSL 2 and `codex sandbox linux`, or run the command yourself.")
        return 1
    host = _HOST_SANDBOX.get(host_platform(), host_platform())
    if target != host:
        _say(f"codex sandbox {platform}: this sandbox needs {target}, but this machine runs {host}")
        return 1
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        _say("Error: sandbox command must not be empty")
        return 1
    start_probing()  # forked namespace probes run while the config is read
    from codex_cli.config import CliOverrides, load_config

    config = load_config(CliOverrides(config_overrides=tuple(config_overrides),
                                      sandbox_mode="workspace-write" if full_auto else None))
    swr = config.sandbox_workspace_write
    policy = SandboxPolicy.from_config(
        config.sandbox_mode, config.cwd, writable_roots=swr.writable_roots, network_access=swr.network_access,
        exclude_tmpdir_env_var=swr.exclude_tmpdir_env_var, exclude_slash_tmp=swr.exclude_slash_tmp,
        add_dirs=config.add_dirs, codex_home=config.codex_home,
    )
    if log_denials:
        _say("codex sandbox: warning: --log-denials is not supported; denials show as the command's own errors")
    status = run_sandboxed_command(policy, argv, config.cwd, os.environ)
    # Not after a signal, a command that could not be found or run, or a failed sandbox setup: those have
    # their own causes (and messages), which a write refused does not explain.
    if 0 < status < 126 and status != sandbox_linux.SETUP_FAILED_EXIT and policy.mode == "read-only":
        _say(_READ_ONLY_HINT)
    return status
