"""Sandbox policies and how they are enforced: Linux (Landlock, seccomp, namespaces), macOS Seatbelt.

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

The two test switches are read through `read_test_switch()` alone. A source checkout honours them and `prepare()`
warns with the variable's name; a release build (frozen binary, zipapp, pip) ignores them and warns that it did, so
no stray environment variable weakens a shipped sandbox silently.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType

from codex_cli import sandbox_linux
from codex_cli.errors import SandboxError
from codex_cli.records import Record, field, replace
from codex_cli.sandbox_policy import PROTECTED_NAMES, SandboxPolicy, is_within
from codex_cli.seatbelt import seatbelt_argv, seatbelt_profile
from codex_cli.version import BUILD_VARIANT

__all__ = [
    "PROTECTED_NAMES",
    "Capabilities",
    "PreparedSandbox",
    "SandboxPolicy",
    "host_platform",
    "prepare",
    "probe_capabilities",
    "read_test_switch",
    "seatbelt_profile",
    "start_probing",
    "warn_test_switches",
]

_TEST_DISABLE_VAR = "CODEX_SANDBOX_TEST_DISABLE"
_TEST_PLATFORM_VAR = "CODEX_SANDBOX_TEST_PLATFORM"
_WINDOWS_WARNING = (
    "commands are NOT sandboxed on Windows: there is no OS confinement to lean on, so they run as you with "
    "all your permissions; under {mode}, every command that is not known to be read-only needs your approval "
    "first (codex exec, which cannot ask, refuses it)"
)


# ----------------------------------------------------------------------------------------------------------
# capabilities


_TEST_SWITCHES = (_TEST_DISABLE_VAR, _TEST_PLATFORM_VAR)


def _is_release_build() -> bool:
    return bool(getattr(sys, "frozen", False)) or BUILD_VARIANT != "source"


def read_test_switch(name: str, env: Mapping[str, str] | None = None) -> str:
    """The value of the test-only switch `name` (one of `CODEX_SANDBOX_TEST_*`) in `env` (default: this
    process's environment); always "" in a release build, which ignores the switches."""
    if _is_release_build():
        return ""
    return (os.environ if env is None else env).get(name, "")


def warn_test_switches(env: Mapping[str, str] | None = None) -> list[str]:
    """One warning per test-only switch set in `env`, naming it: honoured here, or ignored by a release build."""
    values = os.environ if env is None else env
    set_names = [name for name in _TEST_SWITCHES if values.get(name, "").strip()]
    if _is_release_build():
        variant = "frozen" if getattr(sys, "frozen", False) and BUILD_VARIANT == "source" else BUILD_VARIANT
        return [f"{name} is set but ignored: test switches cannot change the sandbox of a release build ({variant})"
                for name in set_names]
    return [f"{name}={values[name].strip()} is set: a switch for tests that weakens the sandbox of this source "
            "checkout; unset it outside tests" for name in set_names]


def host_platform() -> str:
    """`sys.platform`, or `win32` when CODEX_SANDBOX_TEST_PLATFORM=win32 in a source checkout (tests only: the
    Windows path, which confines nothing, can then be exercised on any OS). The only place that reads the switch."""
    return "win32" if read_test_switch(_TEST_PLATFORM_VAR) == "win32" else sys.platform


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
    disabled = tuple(sorted({w.strip() for w in read_test_switch(_TEST_DISABLE_VAR).split(",") if w.strip()}))
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
    switches = warn_test_switches()
    if host_platform() == "win32":
        # Nothing to lean on: no environment variable may claim the network is off. On another OS only the test
        # switch leads here, and the one warning then names it first.
        windows = _WINDOWS_WARNING.format(mode=policy.mode)
        warning = windows if sys.platform == "win32" else f"{'; '.join(switches)}: {windows}"
        return PreparedSandbox(preexec=None, warnings=(warning,),
                               writable_roots=tuple(policy.effective_writable_roots(env)), confined=False,
                               policy=policy, env=env)
    env_updates = {} if policy.network_access else {"CODEX_SANDBOX_NETWORK_DISABLED": "1"}
    if sys.platform == "darwin":
        env_updates["CODEX_SANDBOX"] = "seatbelt"
        return PreparedSandbox(preexec=None, env_updates=MappingProxyType(env_updates),
                               argv_prefix=tuple(seatbelt_argv(policy, env)),
                               warnings=(*switches, *_policy_warnings(policy)),
                               writable_roots=tuple(policy.effective_writable_roots(env)), policy=policy, env=env)
    if sys.platform != "linux":
        raise SandboxError(
            f"commands cannot be sandboxed on {sys.platform}: this implementation has no {policy.mode} "
            "sandbox here, so nothing was run",
            "Use -s danger-full-access only inside a VM or container you trust.",
        )
    return _prepare_linux(policy, env, probe_capabilities(), env_updates, switches)


def _prepare_linux(policy: SandboxPolicy, env: Mapping[str, str], caps: Capabilities,
                   env_updates: dict[str, str], switches: list[str]) -> PreparedSandbox:
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
        reopened=tuple(str(r) for r in roots if any(r != Path(p) and is_within(r, Path(p)) for p in protected)),
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
        warnings=tuple(switches + _policy_warnings(policy) + _linux_warnings(policy, caps)),
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


def confined_job(job: str) -> Callable[[bytes], bytes]:
    import importlib

    module, _, name = CONFINED_JOBS[job].partition(":")
    function: Callable[[bytes], bytes] = getattr(importlib.import_module(module), name)
    return function


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

    work = confined_job(job)  # imported here, not in the child
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
