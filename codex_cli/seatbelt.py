"""macOS Seatbelt: the SBPL profile and the `sandbox-exec` argv that enforce a `SandboxPolicy`.

The profile denies by default, allows reading everywhere, allows writing under each writable root except its
protected sub-paths (`.git`, `.codex`, `.agents`, `.aws`, a `.git` file's gitdir: excluded as subtrees, so they
cannot be created either), and allows the network only when the policy does. Paths travel as `-D` parameters
(`WRITABLE_ROOT_<i>`, `WRITABLE_ROOT_<i>_EXCLUDED_<j>`), never spliced into the profile text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codex_cli.sandbox import SandboxPolicy

__all__ = ["SANDBOX_EXEC", "seatbelt_argv", "seatbelt_params", "seatbelt_profile"]

SANDBOX_EXEC = "/usr/bin/sandbox-exec"  # only this absolute path is trusted, never PATH

_BASE = """\
(version 1)
(deny default)

; processes: children inherit the policy
(allow process-exec)
(allow process-fork)
(allow signal (target same-sandbox))
(allow process-info* (target same-sandbox))
(allow user-preference-read)
(allow mach-host*)
(allow ipc-posix-sem)
(allow sysctl-read
  (sysctl-name-prefix "hw.")
  (sysctl-name-prefix "kern.")
  (sysctl-name "machdep.cpu.brand_string")
  (sysctl-name "sysctl.proc_cputype")
  (sysctl-name "vm.loadavg")
  (sysctl-name-prefix "net.routetable."))
(allow mach-lookup
  (global-name "com.apple.system.opendirectoryd.libinfo")
  (global-name "com.apple.PowerManagement.control"))

; terminals and the null device
(allow pseudo-tty)
(allow file-read* file-write* file-ioctl (literal "/dev/ptmx"))
(allow file-read* file-write* file-ioctl (regex #"^/dev/ttys[0-9]+$"))
(allow file-write-data (require-all (path "/dev/null") (vnode-type CHARACTER-DEVICE)))

; reading is allowed everywhere
(allow file-read*)
"""

_NETWORK = """
; network access is enabled
(allow network-outbound)
(allow network-inbound)
(allow system-socket)
(allow mach-lookup
  (global-name "com.apple.bsd.dirhelper")
  (global-name "com.apple.system.opendirectoryd.membership")
  (global-name "com.apple.SecurityServer")
  (global-name "com.apple.networkd")
  (global-name "com.apple.ocspd")
  (global-name "com.apple.trustd.agent")
  (global-name "com.apple.SystemConfiguration.DNSConfiguration")
  (global-name "com.apple.SystemConfiguration.configd"))
"""


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def seatbelt_params(policy: SandboxPolicy, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The `-D` parameters the profile refers to: each writable root and the protected paths below it."""
    if policy.mode != "workspace-write":
        return []
    protected = [p.resolve() for p in policy.protected_paths(env)]
    params: list[tuple[str, str]] = []
    for i, root in enumerate(r.resolve() for r in policy.effective_writable_roots(env)):
        params.append((f"WRITABLE_ROOT_{i}", str(root)))
        excluded = [p for p in protected if p != root and _is_within(p, root)]
        params += [(f"WRITABLE_ROOT_{i}_EXCLUDED_{j}", str(p)) for j, p in enumerate(excluded)]
    return params


def seatbelt_profile(policy: SandboxPolicy, env: Mapping[str, str]) -> str:
    """The SBPL text for `policy` (used with the parameters of `seatbelt_params`)."""
    if policy.mode == "danger-full-access":
        return '(version 1)\n(allow default)\n'
    parts = [_BASE]
    clauses: list[str] = []
    names = [name for name, _ in seatbelt_params(policy, env)]
    for root in (n for n in names if "_EXCLUDED_" not in n):
        excluded = [n for n in names if n.startswith(f"{root}_EXCLUDED_")]
        nots = "".join(f'\n    (require-not (subpath (param "{n}")))' for n in excluded)
        clauses.append(f'  (require-all\n    (subpath (param "{root}")){nots})')
    if clauses:
        parts.append("\n; writable roots, minus their protected sub-paths\n(allow file-write*\n"
                     + "\n".join(clauses) + ")\n")
    if policy.network_access:
        parts.append(_NETWORK)
    return "".join(parts)


def seatbelt_argv(policy: SandboxPolicy, env: Mapping[str, str]) -> list[str]:
    """`sandbox-exec -p PROFILE -DNAME=VALUE... --`: the prefix to put before the command's argv."""
    params = [f"-D{name}={value}" for name, value in seatbelt_params(policy, env)]
    return [SANDBOX_EXEC, "-p", seatbelt_profile(policy, env), *params, "--"]
