"""macOS Seatbelt: the SBPL profile and the `sandbox-exec` argv that enforce a `SandboxPolicy`.

The profile denies by default and allows reading everywhere. Writing is allowed under each writable root
(`sandbox.SandboxPolicy.effective_writable_roots`, so a `memories` symlink never makes its target one) except:

* the protected names `.git`, `.codex`, `.agents`, `.aws` at the top of every writable root, /tmp and $TMPDIR
  included, matched by NAME (a regex built in the profile from the root's parameter), so a name that is a
  symlink can be neither replaced nor removed, and a missing one cannot be created;
* the protected paths of `SandboxPolicy.protected_paths` inside the root (the names themselves, a `.git`
  file's gitdir, where a protected symlink points, $CODEX_HOME), as `literal` and `subpath` of a parameter.

On a case-insensitive volume (`sandbox_policy.case_insensitive_volume`, probed, strict when undecided) the names and
the protected paths are also matched with ASCII letters in either case, so `.GIT/config` is `.git/config`.

Paths travel only as `-D` parameters (`WRITABLE_ROOT_<i>`, `WRITABLE_ROOT_<i>_EXCLUDED_<j>`,
`UNIX_SOCKET_PATH_<k>`), never spliced into the profile text: a regex that starts with a root is
`(string-append "^" (regex-quote (param ...)) ...)`, and the part after the root that a case-insensitive
match needs is written with `[xX]`, `[.]`, `/`, digits and `[^/]` only (any other byte), so no file name can
change the profile's structure. The network, when the policy allows it, is IP plus the system services that
DNS and TLS need; Unix sockets only where listed (the DNS resolver's), not tmux, Docker or an ssh-agent.
The base rules (sysctls, Mach services, terminals, `/bin/ps`) follow codex-rs's named lists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli import sandbox_policy
from codex_cli.records import Record
from codex_cli.sandbox_policy import PROTECTED_NAMES

if TYPE_CHECKING:
    from codex_cli.protocol import SandboxMode
    from codex_cli.sandbox_policy import SandboxPolicy

__all__ = ["ALLOWED_UNIX_SOCKETS", "SANDBOX_EXEC", "seatbelt_argv", "seatbelt_params", "seatbelt_profile"]

SANDBOX_EXEC = "/usr/bin/sandbox-exec"  # only this absolute path is trusted, never PATH

# The Unix sockets a command may connect to when the network is on: the system resolver's, which getaddrinfo()
# talks to. Everything else (tmux, Docker, ssh-agent, launchd's per-user sockets under /private/tmp) stays shut.
ALLOWED_UNIX_SOCKETS = ("/private/var/run/mDNSResponder",)

# What a command may read with sysctl: the hardware and OS facts runtimes ask for (CPU count and features,
# page size, OS version), and its own process group's entries. Not the whole `kern.` tree.
_SYSCTL_NAMES = (
    "hw.activecpu", "hw.busfrequency_compat", "hw.byteorder", "hw.cacheconfig", "hw.cachelinesize_compat",
    "hw.cpufamily", "hw.cpufrequency", "hw.cpufrequency_compat", "hw.cputype", "hw.l1dcachesize_compat",
    "hw.l1icachesize_compat", "hw.l2cachesize_compat", "hw.l3cachesize_compat", "hw.logicalcpu",
    "hw.logicalcpu_max", "hw.machine", "hw.memsize", "hw.model", "hw.ncpu", "hw.nperflevels", "hw.packages",
    "hw.pagesize", "hw.pagesize_compat", "hw.physicalcpu", "hw.physicalcpu_max", "hw.tbfrequency_compat",
    "hw.vectorunit", "kern.argmax", "kern.hostname", "kern.maxfilesperproc", "kern.maxproc",
    "kern.osproductversion", "kern.osrelease", "kern.ostype", "kern.osvariant_status", "kern.osversion",
    "kern.secure_kernel", "kern.usrstack64", "kern.version", "machdep.cpu.brand_string", "sysctl.proc_cputype",
    "vm.loadavg",
)
_SYSCTL_PREFIXES = ("hw.optional.arm.", "hw.optional.armv8_", "hw.perflevel", "kern.proc.pgrp.", "kern.proc.pid.",
                    "net.routetable.")

_BASE = """\
(version 1)
(deny default)

; Processes: a child runs under the same profile as its parent, and may signal or inspect only its own kind.
(allow process-exec)
(allow process-fork)
(allow signal (target same-sandbox))
(allow process-info* (target same-sandbox))
; Homebrew's shellenv, run by login shells, asks /bin/ps which shell it is; ps is setuid and cannot start
; sandboxed, so it alone runs outside the profile.
(allow process-exec (path "/bin/ps") (with no-sandbox))

(allow sysctl-read
{sysctls})
; Java's CPU detection passes a buffer to this sysctl, which the kernel counts as a write.
(allow sysctl-write (sysctl-name "kern.grade_cputype"))

; caffeinate and other power assertions.
(allow iokit-open (iokit-registry-entry-class "RootDomainUserClient"))
(allow mach-lookup
  (global-name "com.apple.system.opendirectoryd.libinfo")
  (global-name "com.apple.PowerManagement.control"))

; Semaphores for Python's multiprocessing; the shared memory libomp (PyTorch) registers itself under.
(allow ipc-posix-sem)
(allow ipc-posix-shm-read-data ipc-posix-shm-write-create ipc-posix-shm-write-unlink
  (ipc-posix-name-regex #"^/__KMP_REGISTERED_LIB_[0-9]+$"))

; Preferences, read only (`defaults read`, CoreFoundation programs): the daemons and their shared memory.
(allow user-preference-read)
(allow ipc-posix-shm-read* (ipc-posix-name-prefix "apple.cfprefs."))
(allow mach-lookup
  (global-name "com.apple.cfprefsd.daemon")
  (global-name "com.apple.cfprefsd.agent")
  (local-name "com.apple.cfprefsd.agent"))

; Terminals: a command may open new pseudo-terminals and use those (the kernel marks them with the pty
; extension), but not the person's other terminals. One it inherited already open (its own) needs ioctl to be
; recognised as a terminal, which is all this allows on the rest.
(allow pseudo-tty)
(allow file-read* file-write* file-ioctl (literal "/dev/ptmx"))
(allow file-read* file-write*
  (require-all (regex #"^/dev/ttys[0-9]+$") (extension "com.apple.sandbox.pty")))
(allow file-ioctl (regex #"^/dev/ttys[0-9]+$"))
(allow file-write-data (require-all (path "/dev/null") (vnode-type CHARACTER-DEVICE)))

; Reading is allowed everywhere.
(allow file-read*)
"""

_NETWORK = """
; The network is on: IP in and out, and the services that name resolution, TLS certificate checks and the
; network configuration live in. Kernel control sockets (AF_SYSTEM) are the only system sockets.
(allow network-outbound)
(allow network-inbound)
(allow system-socket (require-all (socket-domain AF_SYSTEM) (socket-protocol 2)))
(allow mach-lookup
  (global-name "com.apple.bsd.dirhelper")
  (global-name "com.apple.system.opendirectoryd.membership")
  (global-name "com.apple.SecurityServer")
  (global-name "com.apple.networkd")
  (global-name "com.apple.ocspd")
  (global-name "com.apple.trustd.agent")
  (global-name "com.apple.SystemConfiguration.DNSConfiguration")
  (global-name "com.apple.SystemConfiguration.configd"))
(allow sysctl-read (sysctl-name-regex #"^net[.]routetable"))
; A Unix socket is a door into another program running as the person (tmux, Docker, ssh-agent): none is
; reachable but those listed after this rule, which wins over the blanket outbound rule above because it comes
; later in the profile (the last matching rule decides).
(deny network-outbound (remote unix-socket))
"""


class _Exclusion(Record):
    """A path inside a writable root that stays read-only: its parameter, its path, and the regex (after the
    root) that also matches its case variants, or "" when the volume tells case apart."""

    param: str
    path: Path
    folded: str = ""


class _Root(Record):
    """One writable root of the profile: its parameter and path, the protected-path parameters inside it, and
    the regexes (after the root, starting with "/") of its protected names."""

    param: str
    path: Path
    excluded: tuple[_Exclusion, ...] = ()
    names: tuple[str, ...] = ()


class _Plan(Record):
    """Everything the profile and its parameters are made from, computed once so both see the same paths."""

    mode: SandboxMode
    roots: tuple[_Root, ...] = ()
    network: bool = False
    sockets: tuple[str, ...] = ()


def _plan(policy: SandboxPolicy, env: Mapping[str, str]) -> _Plan:
    if policy.mode == "danger-full-access":
        return _Plan(policy.mode)
    probed: dict[Path, bool] = {}

    def folds(path: Path) -> bool:
        if path not in probed:
            probed[path] = sandbox_policy.case_insensitive_volume(path)
        return probed[path]

    protected = policy.protected_paths(env)  # names unresolved (the name is what is protected), targets resolved
    targets = [Path(os.path.abspath(t)) for t in policy.approved_targets]
    roots: list[_Root] = []
    for i, root in enumerate(_unique(r.resolve() for r in policy.effective_writable_roots(env))):
        fold = folds(root)
        param = f"WRITABLE_ROOT_{i}"
        # A name that holds a file the person approved stays writable, as in `protected_paths`.
        names = tuple(
            _after_root(root / name, root, fold=fold) for name in PROTECTED_NAMES
            if not any(_within(t, root / name, fold) for t in targets)
        )
        inside = [p for p in protected if p != root and _within(p, root, fold)]
        excluded = []
        for j, path in enumerate(inside):
            folded = _after_root(path, root, fold=True) if fold or folds(path.parent) else ""
            excluded.append(_Exclusion(f"{param}_EXCLUDED_{j}", path, "" if folded in names else folded))
        roots.append(_Root(param, root, tuple(excluded), names))
    network = policy.network_access
    return _Plan(policy.mode, tuple(roots), network, ALLOWED_UNIX_SOCKETS if network else ())


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def _within(path: Path, root: Path, fold: bool) -> bool:
    """`path` is `root` or below it; with `fold`, comparing names regardless of case."""
    if len(path.parts) < len(root.parts):
        return False
    head = path.parts[: len(root.parts)]
    if fold:
        return [part.lower() for part in head] == [part.lower() for part in root.parts]
    return head == root.parts


def _after_root(path: Path, root: Path, *, fold: bool) -> str:
    """The regex for `path` once `root` is matched: "/" and each following name, with the rest of the tree below.

    Only these characters are written: `/`, ASCII letters and digits, `[`, `]`, `^`, `.`, `(`, `)`, `|`, `*`,
    `?`, `$`. A letter is `[xX]` when `fold` (else itself), a dot `[.]`, and any other byte (punctuation,
    quotes, newlines, UTF-8 and undecodable bytes alike) `[^/]`: such a name is matched a little too broadly,
    never too narrowly and never outside its own place in the tree. With `fold`, `s` and `k` also match the
    two- and three-byte letters that case-insensitive APFS equates with them (U+017F long s, U+212A Kelvin).
    """
    rest = os.fsencode(os.path.join("", *path.parts[len(root.parts):]))  # the names below the root
    pieces = ["/"]
    for byte in rest:
        char = chr(byte)
        if char == "/" or "0" <= char <= "9":
            pieces.append(char)
        elif char == ".":
            pieces.append("[.]")
        elif "a" <= char.lower() <= "z" and byte < 0x80:
            if not fold:
                pieces.append(char)
            elif char in "sS":
                pieces.append("([sS]|[^/][^/])")
            elif char in "kK":
                pieces.append("([kK]|[^/][^/][^/])")
            else:
                pieces.append(f"[{char.lower()}{char.upper()}]")
        else:
            pieces.append("[^/]")
    return "".join(pieces) + "(/.*)?$"


def _regex_under(root: _Root, after: str) -> str:
    """An SBPL regex filter for `after` (from `_after_root`) below `root`: the root itself is quoted by the
    profile (`regex-quote` of its parameter), so no path enters the text."""
    if root.path == Path("/"):  # its quoted path followed by "/" would start with "//" and never match
        return f'(regex "^{after}")'
    return f'(regex (string-append "^" (regex-quote (param "{root.param}")) "{after}"))'


def _render_root(root: _Root) -> str:
    lines = [f'(subpath (param "{root.param}"))']
    for excluded in root.excluded:
        # Both: `subpath` alone would let the protected directory itself be created when it does not exist.
        lines.append(f'(require-not (literal (param "{excluded.param}")))')
        lines.append(f'(require-not (subpath (param "{excluded.param}")))')
        if excluded.folded:
            lines.append(f"(require-not {_regex_under(root, excluded.folded)})")
    lines += [f"(require-not {_regex_under(root, name)})" for name in root.names]
    return "  (require-all\n    " + "\n    ".join(lines) + ")"


def _render(plan: _Plan) -> str:
    if plan.mode == "danger-full-access":
        return "(version 1)\n(allow default)\n"
    sysctls = [f'  (sysctl-name "{name}")' for name in _SYSCTL_NAMES]
    sysctls += [f'  (sysctl-name-prefix "{prefix}")' for prefix in _SYSCTL_PREFIXES]
    parts = [_BASE.replace("{sysctls}", "\n".join(sysctls))]
    if plan.roots:
        parts.append("\n; Writable roots, minus their protected names and paths.\n(allow file-write*\n"
                     + "\n".join(_render_root(root) for root in plan.roots) + ")\n")
    if plan.network:
        parts.append(_NETWORK)
        if plan.sockets:
            rules = [f'(allow network-outbound (remote unix-socket (subpath (param "UNIX_SOCKET_PATH_{k}"))))'
                     for k in range(len(plan.sockets))]
            parts.append("(allow system-socket (socket-domain AF_UNIX))\n" + "\n".join(rules) + "\n")
    return "".join(parts)


def _params(plan: _Plan) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for root in plan.roots:
        params.append((root.param, str(root.path)))
        params += [(excluded.param, str(excluded.path)) for excluded in root.excluded]
    params += [(f"UNIX_SOCKET_PATH_{k}", path) for k, path in enumerate(plan.sockets)]
    return params


def seatbelt_params(policy: SandboxPolicy, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The `-D` parameters the profile refers to: each writable root, the protected paths inside it, and the
    Unix sockets a command may connect to."""
    return _params(_plan(policy, env))


def seatbelt_profile(policy: SandboxPolicy, env: Mapping[str, str]) -> str:
    """The SBPL text for `policy` (used with the parameters of `seatbelt_params`)."""
    return _render(_plan(policy, env))


def seatbelt_argv(policy: SandboxPolicy, env: Mapping[str, str]) -> list[str]:
    """`sandbox-exec -p PROFILE -DNAME=VALUE... --`: the prefix to put before the command's argv. The profile
    and its parameters come from one look at the file system, so they name the same paths."""
    plan = _plan(policy, env)
    return [SANDBOX_EXEC, "-p", _render(plan), *(f"-D{name}={value}" for name, value in _params(plan)), "--"]
