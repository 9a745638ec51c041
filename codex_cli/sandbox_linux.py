"""Linux confinement internals: probes, the steps a forked child runs before `execve`, and placeholders.

Everything byte-shaped (the seccomp BPF program, Landlock attributes, id maps, mount arguments) is built in
the parent by `ChildConfinement.__init__`; the child only calls libc through ctypes in the order that
/work/shared/reference/linux-sandbox-primitives.md §4 verified: no_new_privs → unshare → id maps → private
mounts → read-only root and writable roots → protected sub-paths → capability bounding set (root) →
Landlock → seccomp. A failing step writes one line to fd 2 and `_exit(101)`s; the command never runs
unconfined. `Placeholders` owns the empty directories made for missing protected names, and their records
under `$CODEX_HOME/sandbox/placeholders/` that let the next run remove those a killed process left behind.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import select
import signal
import stat
import struct
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from codex_cli.records import Record

__all__ = [
    "SETUP_FAILED_EXIT",
    "ChildConfinement",
    "LinuxPlan",
    "NamespaceMethod",
    "Placeholders",
    "SeccompMode",
    "landlock_fs_mask",
    "probe_landlock_abi",
    "probe_mount_setattr",
    "probe_namespace_method",
    "probe_seccomp",
    "seccomp_program",
]

SETUP_FAILED_EXIT = 101  # what codex-rs's helper exits with when sandbox setup or execvp fails

NamespaceMethod = Literal["direct", "user", "none"]
SeccompMode = Literal["restricted", "vsock", "none"]

# --- namespaces and mounts -----------------------------------------------------------------------------------
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_NOATIME, _MS_NODIRATIME, _MS_BIND, _MS_REC = 32, 1024, 2048, 4096, 16384
_MS_PRIVATE, _MS_RELATIME = 1 << 18, 1 << 21
_MOUNT_ATTR_RDONLY = 1
_O_PATH, _O_CLOEXEC = 0o10000000, 0o2000000  # x86_64 and aarch64
_AT_FDCWD, _AT_SYMLINK_NOFOLLOW, _AT_RECURSIVE = -100, 0x100, 0x8000
_SYS_OPEN_TREE, _SYS_MOVE_MOUNT, _SYS_MOUNT_SETATTR = 428, 429, 442  # the same on x86_64 and aarch64
_OPEN_TREE_CLONE, _MOVE_MOUNT_F_EMPTY_PATH = 1, 4

# --- prctl, capabilities, signals --------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1
_PR_GET_SECCOMP, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 21, 22, 2
_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 24, 28, 36, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_SECBIT_NOROOT, _SECBIT_NOROOT_LOCKED = 1, 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# --- Landlock ----------------------------------------------------------------------------------------------
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
_FS_DEVICE_RW = _FS_READ_FILE | _FS_WRITE_FILE | _FS_IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
# Device nodes a confined command may open for writing; everything else under /dev stays read-only.
_WRITABLE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
                     "/dev/ptmx", "/dev/pts")

# --- seccomp -----------------------------------------------------------------------------------------------
_BPF_LD_W_ABS, _BPF_JEQ, _BPF_JGE, _BPF_RET = 0x20, 0x15, 0x35, 0x06
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_DENY = _RET_ERRNO | errno.EPERM
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C
_AF_UNIX, _AF_VSOCK = 1, 40


class _Arch(Record):
    audit: int
    check_x32: bool
    socket: int
    socketpair: int
    ioctl: int
    io_uring: tuple[int, ...]
    network: tuple[int, ...]  # connect accept accept4 bind listen getpeername getsockname shutdown sendto
    # sendmmsg recvmmsg getsockopt setsockopt ptrace process_vm_readv process_vm_writev (sandbox.md §4.5)
    file_handles: tuple[int, ...]  # name_to_handle_at open_by_handle_at: open any inode by number, past mounts
    debugging: tuple[int, ...]  # ptrace process_vm_readv process_vm_writev pidfd_getfd
    sysv_ipc: tuple[int, ...]  # shm* sem* msg*: host-wide objects unless there is an IPC namespace
    sessions: tuple[int, ...]  # setsid setpgid: leaving the process group that is killed with the command


_ARCHES = {
    "x86_64": _Arch(0xC000003E, True, 41, 53, 16, (425, 426, 427),
                    (42, 43, 288, 49, 50, 52, 51, 48, 44, 307, 299, 55, 54, 101, 310, 311),
                    (303, 304), (101, 310, 311, 438),
                    (29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71), (112, 109)),
    "aarch64": _Arch(0xC00000B7, False, 198, 199, 29, (425, 426, 427),
                     (203, 202, 242, 200, 201, 205, 204, 210, 206, 269, 243, 209, 208, 117, 270, 271),
                     (264, 265), (117, 270, 271, 438),
                     (186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197), (157, 154)),
}


def _arch() -> _Arch | None:
    machine = os.uname().machine.lower() if hasattr(os, "uname") else ""
    return _ARCHES.get({"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine))


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


@functools.cache
def seccomp_program(mode: SeccompMode, isolated: bool = True) -> bytes:
    """The classic-BPF filter for `mode` on this machine's architecture (empty when none applies).

    `restricted` (network off) denies every socket family but AF_UNIX and the §4.5 syscall list;
    `vsock` (network on) denies only AF_VSOCK sockets and io_uring. Both deny opening files by handle, which
    reaches any inode of a mounted filesystem past every mount and Landlock rule. Without PID and IPC namespaces
    (`isolated` False) they also deny what those namespaces would otherwise contain: debugging other processes,
    System V IPC, and leaving the command's process group (whose members end with it). Other ABIs (i386
    `int 0x80`, x32) get EPERM.
    """
    arch = _arch()
    if arch is None or mode == "none":
        return b""
    denied = arch.io_uring + arch.file_handles + (arch.network if mode == "restricted" else ())
    if not isolated:
        denied += arch.debugging + arch.sysv_ipc + arch.sessions
    # Labels stand for the instructions they name; jumps are resolved once the program is laid out.
    program: list[tuple[int, int, int | str, int | str]] = [
        (_BPF_LD_W_ABS, 4, 0, 0), (_BPF_JEQ, arch.audit, 1, 0), (_BPF_RET, _DENY, 0, 0), (_BPF_LD_W_ABS, 0, 0, 0)]
    if arch.check_x32:
        program.append((_BPF_JGE, 0x40000000, "deny", 0))
    program += [(_BPF_JEQ, nr, "deny", 0) for nr in dict.fromkeys(denied)]
    program += [(_BPF_JEQ, arch.socket, "socket", 0), (_BPF_JEQ, arch.socketpair, "socket", 0),
                (_BPF_JEQ, arch.ioctl, "ioctl", 0), (_BPF_RET, _RET_ALLOW, 0, 0)]
    # socket(family, ...): restricted allows AF_UNIX only; vsock refuses AF_VSOCK only.
    labels = {"socket": len(program)}
    if mode == "restricted":
        program += [(_BPF_LD_W_ABS, 16, 0, 0), (_BPF_JEQ, _AF_UNIX, "allow", "deny")]
    else:
        program += [(_BPF_LD_W_ABS, 16, 0, 0), (_BPF_JEQ, _AF_VSOCK, "deny", "allow")]
    # ioctl(fd, cmd): TIOCSTI would type into the terminal (the person's, when it is the controlling one) after
    # the command ends, TIOCLINUX can do as much on a console.
    labels["ioctl"] = len(program)
    program += [(_BPF_LD_W_ABS, 24, 0, 0), (_BPF_JEQ, _TIOCSTI, "deny", 0), (_BPF_JEQ, _TIOCLINUX, "deny", "allow")]
    labels["allow"], labels["deny"] = len(program), len(program) + 1
    program += [(_BPF_RET, _RET_ALLOW, 0, 0), (_BPF_RET, _DENY, 0, 0)]

    def offset(at: int, target: int | str) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return b"".join(_insn(code, k, offset(at, jt), offset(at, jf)) for at, (code, k, jt, jf) in enumerate(program))


def landlock_fs_mask(abi: int) -> int:
    """Every filesystem right the kernel's Landlock ABI `abi` knows (0 when Landlock is unavailable)."""
    if abi <= 0:
        return 0
    return 0x1FFF if abi == 1 else 0x3FFF if abi == 2 else 0x7FFF if abi <= 4 else 0xFFFF


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    libc.prctl.restype = ctypes.c_int
    libc.unshare.argtypes = [ctypes.c_int]
    libc.unshare.restype = ctypes.c_int
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.mount.restype = ctypes.c_int
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.signal.restype = ctypes.c_void_p
    libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    libc.capset.restype = ctypes.c_int
    libc.signalfd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.signalfd.restype = ctypes.c_int
    return libc


def _syscall(*args: object) -> int:
    converted = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return int(_libc().syscall(*converted))


def probe_landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when the syscall is missing or Landlock is disabled at boot."""
    if sys.platform != "linux":
        return 0
    abi = _syscall(_SYS_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    return max(abi, 0)


def probe_seccomp() -> bool:
    """True when the kernel has seccomp and a filter exists for this architecture."""
    if sys.platform != "linux" or _arch() is None:
        return False
    return int(_libc().prctl(_PR_GET_SECCOMP, 0, 0, 0, 0)) >= 0


def probe_mount_setattr() -> bool:
    """True when `mount_setattr(2)` exists (Linux 5.12+): needed for the recursive read-only root."""
    if sys.platform != "linux":
        return False
    if _syscall(_SYS_MOUNT_SETATTR, -1, None, 0, None, 0) >= 0:
        return True
    return ctypes.get_errno() != errno.ENOSYS


def _namespace_probe(flags: int, maps: tuple[tuple[bytes, bytes], ...]) -> Callable[[], None]:
    libc = _libc()

    def probe() -> None:  # runs in a forked child; never returns
        ok = libc.unshare(flags) == 0
        for path, data in maps if ok else ():
            try:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
            except OSError:
                ok = False
                break
        ok = ok and libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) == 0
        os._exit(0 if ok else 1)

    return probe


def _id_maps(uid: int, gid: int) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"/proc/self/setgroups", b"deny"), (b"/proc/self/uid_map", b"%d %d 1" % (uid, uid)),
            (b"/proc/self/gid_map", b"%d %d 1" % (gid, gid)))


def probe_namespace_method(euid: int) -> NamespaceMethod:
    """The best way a child can get private mount and network namespaces here: `direct` (root), `user`
    (through a user namespace) or `none`. Each candidate is tried in a real forked child, best first."""
    return start_namespace_probe(euid)()


def start_namespace_probe(euid: int) -> Callable[[], NamespaceMethod]:
    """Fork a child that tries the best candidate method now, and return the call that waits for it and gives the
    best method that worked (see `probe_namespace_method`); a candidate that failed is followed by the next, tried
    then. Making a network namespace takes the kernel a few ms; started early, the child does it while the caller
    goes on (e.g. reads its config). One child at a time: a fork is itself ~1 ms here, and the best candidate
    (`direct` for root, the usual container) mostly works."""
    if sys.platform != "linux":
        return lambda: "none"
    candidates: list[tuple[NamespaceMethod, int, tuple[tuple[bytes, bytes], ...]]] = []
    if euid == 0:
        candidates.append(("direct", _CLONE_NEWNS | _CLONE_NEWNET, ()))
    candidates.append(("user", _CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWNET, _id_maps(euid, os.getegid())))

    def start(flags: int, maps: tuple[tuple[bytes, bytes], ...]) -> int | None:
        probe = _namespace_probe(flags, maps)
        try:
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:  # the child: probe, then _exit whatever happens (it must never return into our caller)
            try:
                probe()
            finally:
                os._exit(1)
        return pid

    def worked(pid: int | None) -> bool:
        if pid is None:
            return False
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return False
        return os.waitstatus_to_exitcode(status) == 0

    first = start(*candidates[0][1:])

    def best() -> NamespaceMethod:
        if worked(first):
            return candidates[0][0]
        for method, flags, maps in candidates[1:]:
            if worked(start(flags, maps)):
                return method
        return "none"

    return best


class LinuxPlan(Record):
    """What the child must do, decided in the parent from the policy and the machine's capabilities.

    Paths are absolute. Writable roots are existing, host-writable directories; `rw_submounts` are host
    read-write mount points below a writable root (read-write again after the read-only root); `protected`
    get read-only binds, and those also in `creatable` (the protected names, whose placeholder the parent
    normally made) are created as empty directories by the child if they vanished meanwhile; `reopened` are
    writable roots inside a protected path (`$CODEX_HOME/memories`), made writable again after it.
    """

    namespaces: NamespaceMethod
    unshare_net: bool
    readonly_root: bool
    writable_roots: tuple[str, ...]
    rw_submounts: tuple[str, ...]
    protected: tuple[str, ...]
    creatable: tuple[str, ...]
    private_shm: bool
    landlock_abi: int
    landlock_net: bool
    seccomp: SeccompMode
    mount_setattr: bool
    reopened: tuple[str, ...] = ()
    private_pts: bool = False


_Step = tuple[str, Callable[[], int], frozenset[int]]  # stage, call, errnos that mean "nothing to do"
_STRICT: frozenset[int] = frozenset()
_GONE = frozenset({errno.ENOENT})


class ChildConfinement:
    """The `preexec_fn` for `subprocess.Popen`: confines the forked child, or exits it with 101.

    The call returns only in the process that goes on to run the command; it makes two more on the way, which
    stay behind as supervisors and never return:

    * the outer one (the child `Popen` made) leaves no way out of the namespaces: it waits for the command's
      side, exits with the command's status, and kills everything below it when codex dies (its lifeline pipe
      reaches EOF) or when it is sent SIGTERM or SIGHUP;
    * with namespaces, the first process of a new PID namespace, whose own /proc it mounts; as that namespace's
      init it reaps orphans, and when the command ends it exits, and the kernel kills every process left in the
      namespace: `setsid`, double forks and daemons included. Without namespaces the outer one is a
      child subreaper instead, and kills whatever the command left behind.

    The command's process then drops every capability (bounding set included, also for root), and applies
    Landlock and seccomp. Reusable: every call confines one freshly forked child; the parent's copy is never
    changed.
    """

    def __init__(self, plan: LinuxPlan) -> None:
        self._libc = _libc()
        self._uid, self._gid = _ids()  # read before unshare (primitives §0.4)
        self._isolated = plan.namespaces != "none"
        self._unshare = 0
        if self._isolated:
            self._unshare = _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWIPC | (_CLONE_NEWNET if plan.unshare_net else 0)
            if plan.namespaces == "user":
                self._unshare |= _CLONE_NEWUSER
        self._maps = _id_maps(self._uid, self._gid) if plan.namespaces == "user" else ()
        self._steps = self._mount_steps(plan) if self._isolated else []
        self._cap_drops = self._cap_steps()
        self._caps_header = ctypes.create_string_buffer(struct.pack("<Ii", _LINUX_CAPABILITY_VERSION_3, 0), 8)
        self._caps_data = ctypes.create_string_buffer(24)  # two zeroed {effective, permitted, inheritable}
        self._landlock = _LandlockRules(plan) if plan.landlock_abi > 0 else None
        program = seccomp_program(plan.seccomp, self._isolated)
        self._filter = ctypes.create_string_buffer(program, max(len(program), 1))
        self._fprog = ctypes.create_string_buffer(struct.pack("<HxxxxxxQ", len(program) // 8,
                                                              ctypes.addressof(self._filter)), 16)
        self._has_filter = bool(program)
        self._lifeline = _lifeline()
        self._maxfd = _max_fd()

    def _mount(self, source: bytes | None, target: bytes, fstype: bytes | None, flags: int,
               data: bytes | None = None) -> Callable[[], int]:
        return functools.partial(self._libc.mount, source, target, fstype, flags, data)

    def _setattr(self, path: bytes, attr: ctypes.Array[ctypes.c_char], flags: int) -> Callable[[], int]:
        args = (ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_long(_AT_FDCWD), ctypes.c_char_p(path),
                ctypes.c_long(flags), attr, ctypes.c_long(32))
        return functools.partial(self._libc.syscall, *args)

    def _bind_or_create(self, path: bytes) -> Callable[[], int]:
        bind = self._mount(path, path, None, _MS_BIND | _MS_REC)

        def step() -> int:
            rc = int(bind())
            if rc != 0 and ctypes.get_errno() == errno.ENOENT:
                # The placeholder vanished (another process removed its own): make one, still before Landlock.
                try:
                    os.mkdir(path, 0o555)
                except FileExistsError:
                    pass
                rc = int(bind())
            return rc

        return step

    def _protect(self, path: bytes, bind: Callable[[], int], read_only: Callable[[], int]) -> Callable[[], int]:
        """Make `path` read-only: bind it onto itself and remount that read-only; or, when it is a symlink (which
        mounting would follow), pin the link itself (bound onto itself, it can be neither removed nor renamed;
        where it points is protected by a step of its own)."""
        syscall, c_long = self._libc.syscall, ctypes.c_long

        def step() -> int:
            try:
                link = stat.S_ISLNK(os.lstat(path).st_mode)
            except FileNotFoundError:
                link = False  # a placeholder that vanished: `bind` makes it again
            if not link:
                return int(bind()) or int(read_only())
            tree = int(syscall(c_long(_SYS_OPEN_TREE), c_long(_AT_FDCWD), ctypes.c_char_p(path),
                               c_long(_OPEN_TREE_CLONE | _AT_SYMLINK_NOFOLLOW | _O_CLOEXEC)))
            if tree < 0:
                return -1
            try:
                return int(syscall(c_long(_SYS_MOVE_MOUNT), c_long(tree), ctypes.c_char_p(b""), c_long(_AT_FDCWD),
                                   ctypes.c_char_p(path), c_long(_MOVE_MOUNT_F_EMPTY_PATH)))
            finally:
                os.close(tree)

        return step

    def _mount_steps(self, plan: LinuxPlan) -> list[_Step]:
        set_ro = ctypes.create_string_buffer(struct.pack("<4Q", _MOUNT_ATTR_RDONLY, 0, 0, 0), 32)
        clear_ro = ctypes.create_string_buffer(struct.pack("<4Q", 0, _MOUNT_ATTR_RDONLY, 0, 0), 32)
        self._attrs = (set_ro, clear_ro)  # kept alive for the child
        private = self._mount(None, b"/", None, _MS_REC | _MS_PRIVATE)
        steps: list[_Step] = [("make mounts private", private, _STRICT)]
        roots = sorted((os.fsencode(r) for r in plan.writable_roots), key=len)
        if plan.readonly_root:
            for root in roots:  # a root deleted since prepare() is simply not writable
                steps.append((f"bind {root!r}", self._mount(root, root, None, _MS_BIND | _MS_REC), _GONE))
            steps.append(("make / read-only", self._setattr(b"/", set_ro, _AT_RECURSIVE), _STRICT))
            for root in roots:
                steps.append((f"make {root!r} writable", self._setattr(root, clear_ro, 0), _GONE))
            for point in map(os.fsencode, plan.rw_submounts):  # EINVAL: no longer a mount point
                steps.append((f"make {point!r} writable", self._setattr(point, clear_ro, 0),
                              frozenset({errno.ENOENT, errno.EINVAL})))
        creatable = set(plan.creatable)
        for name in plan.protected:
            path = os.fsencode(name)
            bind = self._bind_or_create(path) if name in creatable else self._mount(path, path, None,
                                                                                    _MS_BIND | _MS_REC)
            if plan.mount_setattr:
                read_only = self._setattr(path, set_ro, _AT_RECURSIVE)
            else:
                read_only = self._mount(None, path, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _locked_flags(path))
            steps.append((f"protect {path!r}", self._protect(path, bind, read_only), _GONE))
        if plan.mount_setattr:
            for root in map(os.fsencode, plan.reopened):  # its own bind came along into the protected bind
                steps.append((f"make {root!r} writable", self._setattr(root, clear_ro, 0),
                              frozenset({errno.ENOENT, errno.EINVAL})))
        if plan.private_shm:
            shm = self._mount(b"tmpfs", b"/dev/shm", b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=1777")
            steps.append(("mount a private /dev/shm", shm, _STRICT))
        if plan.private_pts:
            # A terminal instance of its own: the person's other terminals are not there to write to; ptys the
            # command opens come from it. (Its own terminal stays usable through the descriptors it has.)
            pts = self._mount(b"devpts", b"/dev/pts", b"devpts", _MS_NOSUID | _MS_NOEXEC,
                              b"newinstance,ptmxmode=0666,mode=0620")
            steps.append(("mount a private /dev/pts", pts, _STRICT))
            steps.append(("bind /dev/ptmx", self._mount(b"/dev/pts/ptmx", b"/dev/ptmx", None, _MS_BIND), _GONE))
        return steps

    def _cap_steps(self) -> list[Callable[[], int]]:
        try:
            with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
                last = int(f.read())
        except (OSError, ValueError):
            last = 63
        prctl = self._libc.prctl
        return [functools.partial(prctl, _PR_CAPBSET_DROP, cap, 0, 0, 0) for cap in range(last + 1)]

    def __call__(self) -> None:
        stage = "no_new_privs"
        try:
            if self._libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise _StepFailed(stage)
            if self._unshare:
                stage = "unshare"
                if self._libc.unshare(self._unshare) != 0:
                    raise _StepFailed(stage)
                for path, data in self._maps:
                    stage = f"write {path.decode()}"
                    fd = os.open(path, os.O_WRONLY)
                    os.write(fd, data)
                    os.close(fd)
            else:
                stage = "become a subreaper"
                if self._libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                    raise _StepFailed(stage)
            for stage, step, tolerated in self._steps:
                if step() != 0 and ctypes.get_errno() not in tolerated:
                    raise _StepFailed(stage)
            stage = "fork"
            self._fork_supervisor(_Supervisor(self._libc, self._lifeline, self._maxfd, self._isolated).run_outer)
            if self._isolated:
                # PID 1 of the new namespace: its /proc shows only the namespace (EPERM where the host's /proc
                # is partly masked, as in some containers: the host's then stays, still without signalling).
                # Read-only: /proc/sys belongs to the host, and root keeps write access to it by owner bits alone
                # (Landlock, where there is one, refuses writes there anyway).
                self._libc.mount(b"proc", b"/proc", b"proc", _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
                self._fork_supervisor(_Supervisor(self._libc, -1, self._maxfd, True).run_init)
                _reenter_cwd()
            stage = "drop capabilities"
            self._drop_capabilities()
            if self._landlock is not None:
                stage = "landlock"
                self._landlock.apply(self._libc)
            if self._has_filter:
                stage = "seccomp"
                if self._libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(self._fprog), 0, 0):
                    raise _StepFailed(stage)
        except BaseException as exc:  # anything here must stop the command from running unconfined
            code = exc.errno if isinstance(exc, OSError) and exc.errno else ctypes.get_errno()
            reason = os.strerror(code) if code else type(exc).__name__
            stage = exc.stage if isinstance(exc, _StepFailed) else stage
            os.write(2, f"codex sandbox: could not confine the command ({stage}: {reason})\n".encode())
            os._exit(SETUP_FAILED_EXIT)

    def _fork_supervisor(self, supervise: Callable[[int], None]) -> None:
        """Fork: the parent becomes a supervisor of the child (and never returns); the child returns, and dies
        with its parent."""
        parent = os.getpid()
        pid = os.fork()
        if pid:
            supervise(pid)
            os._exit(SETUP_FAILED_EXIT)  # not reached: the supervisor exits with the command's status
        self._libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent died before the line above: nothing to run for. (0: the parent is outside our new PID
        # namespace, which is then ended by the parent's death in any case.)
        if os.getppid() not in (parent, 0):
            os._exit(SETUP_FAILED_EXIT)

    def _drop_capabilities(self) -> None:
        """Empty every capability set. Root gets none back from running a program either: its bounding set is
        empty, and SECBIT_NOROOT is set and locked. Without CAP_SETPCAP (a user outside a user namespace) the
        bounding set cannot shrink, and has nothing to give: no_new_privs stops setuid and file capabilities."""
        for drop in self._cap_drops:
            if drop() != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.EPERM):
                raise _StepFailed("drop the capability bounding set")
        self._libc.prctl(_PR_SET_SECUREBITS, _SECBIT_NOROOT | _SECBIT_NOROOT_LOCKED, 0, 0, 0)  # EPERM: no caps
        self._libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL before 4.3: fine
        if self._libc.capset(self._caps_header, self._caps_data) != 0:
            raise _StepFailed("capset")


class _Supervisor:
    """The code a supervising process of `ChildConfinement` runs after its fork; it ends by `os._exit`."""

    def __init__(self, libc: ctypes.CDLL, lifeline: int, maxfd: int, isolated: bool) -> None:
        self._libc = libc
        self._lifeline = lifeline
        self._maxfd = maxfd
        self._isolated = isolated

    def _settle(self, keep: int) -> None:
        # Hold nothing of codex's (the command's output pipe, sockets, the lifeline's write end, the pipe on which
        # `subprocess` waits for the exec) and leave codex's Python signal handlers, which would raise here.
        _close_fds_except(keep, self._maxfd)
        sig_dfl = ctypes.c_void_p(0)
        for signum in _python_handled_signals():
            self._libc.signal(signum, sig_dfl)

    def run_init(self, command: int) -> None:
        """PID 1 of the namespace: reap every orphan, and exit as the command did (which ends the namespace)."""
        self._settle(-1)
        _blank_command_line()
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                os._exit(SETUP_FAILED_EXIT)
            except InterruptedError:
                continue
            if pid == command:
                os._exit(_exit_code(status))

    def run_outer(self, child: int) -> None:
        """Wait for `child` (the namespace's init, or the command itself), and end everything below when codex
        dies or this process is asked to end (SIGTERM, SIGHUP)."""
        self._settle(self._lifeline)
        sig_ign = ctypes.c_void_p(1)
        for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU):
            self._libc.signal(signum, sig_ign)  # a terminal's Ctrl-C or Ctrl-Z is for the command
        ending = (signal.SIGTERM, signal.SIGHUP)
        signal.pthread_sigmask(signal.SIG_SETMASK, ending)
        signals, pidfd = _signal_fd(self._libc, ending), _pidfd(child)
        poller = select.poll()
        for fd in (signals, self._lifeline, pidfd):
            if fd >= 0:
                poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while True:
            try:  # without a pidfd (Linux < 5.3) the child's end is looked for every 100 ms
                ready = {fd for fd, _ in poller.poll(None if pidfd >= 0 else 100)}
            except InterruptedError:
                continue
            done, status = _reaped(child)
            if done:
                self._end_descendants()
                os._exit(_exit_code(status))
            if ready & {signals, self._lifeline}:  # asked to end, or codex is gone
                received = _read_signal(signals) if signals in ready else signal.SIGKILL
                os.kill(child, signal.SIGKILL)
                _, status = os.waitpid(child, 0)  # an init is reaped only once its whole namespace is gone
                self._end_descendants()
                os._exit(128 + received)

    def _end_descendants(self) -> None:
        """Without namespaces, kill what the command left running: as a subreaper, its orphans are ours."""
        if self._isolated:
            return
        me = os.getpid()
        for _ in range(1000):
            found = _descendants(me)
            for pid in found:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            if not found:
                return


def _blank_command_line() -> None:
    """Overwrite this process's command line (codex's, `-c` overrides included), which its /proc shows to every
    process of the sandbox, with a name of its own."""
    fields = _stat_fields("self")
    try:
        start, end = int(fields[48 - 3]), int(fields[49 - 3])  # arg_start and arg_end
    except (IndexError, ValueError):
        return
    if end > start:
        name = b"codex-sandbox-init"[: end - start - 1]
        ctypes.memmove(start, name + bytes(end - start - len(name)), end - start)


def _python_handled_signals() -> list[int]:
    handled: list[int] = []
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        if callable(handler):
            handled.append(int(signum))
    return handled


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _reaped(pid: int) -> tuple[bool, int]:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True, 0
    return done != 0, status


def _pidfd(pid: int) -> int:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1  # Linux < 5.3: polled instead


def _signal_fd(libc: ctypes.CDLL, signals: Iterable[int]) -> int:
    mask = 0
    for signum in signals:
        mask |= 1 << (signum - 1)
    sigset = ctypes.create_string_buffer(struct.pack("<Q", mask) + bytes(120), 128)
    return int(libc.signalfd(-1, sigset, 0))


def _read_signal(fd: int) -> int:
    try:
        info = os.read(fd, 128)
    except OSError:
        return signal.SIGTERM
    return struct.unpack_from("<I", info)[0] if len(info) >= 4 else signal.SIGTERM


def _descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc (parents before children)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(name)[4 - 3])
        except (IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found: list[int] = []
    queue = list(children.get(root, ()))
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, ()))
    return found


def _close_fds_except(keep: int, maxfd: int) -> None:
    if keep < 0:
        os.closerange(0, maxfd)
        return
    os.closerange(0, keep)
    os.closerange(keep + 1, maxfd)


def _max_fd() -> int:
    try:
        return max(os.sysconf("SC_OPEN_MAX"), 256)
    except (OSError, ValueError):
        return 65536


_LIFELINE: list[int] = []
_LIFELINE_LOCK = threading.Lock()


def _lifeline() -> int:
    """The read end of this process's lifeline: a pipe whose write end only this process keeps (close-on-exec),
    so that every supervisor sees EOF the moment codex is gone, however it ends."""
    with _LIFELINE_LOCK:
        if not _LIFELINE:
            _LIFELINE.extend(os.pipe())  # never closed: the kernel closes both ends when this process ends
        return _LIFELINE[0]


def _ids() -> tuple[int, int]:
    if sys.platform == "win32":
        return 0, 0
    return os.geteuid(), os.getegid()


class _StepFailed(Exception):
    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


def _reenter_cwd() -> None:
    # Popen chdir'ed before the binds: re-resolve the cwd so it refers to the new (writable) mount.
    try:
        os.chdir(os.getcwdb())
    except OSError:
        pass  # the old cwd stays read-only, which is the safe side


def _locked_flags(path: bytes) -> int:
    """Flags a read-only remount must keep in a user namespace, or the kernel refuses it (primitives §3.4)."""
    if sys.platform != "linux":
        return 0
    try:
        flag = os.statvfs(path).f_flag
    except OSError:
        return 0
    # statvfs ST_* bits equal the MS_* bits on Linux (ST_NOSUID = MS_NOSUID = 2, ..., ST_RELATIME = 1 << 12).
    st_relatime = 4096
    pairs = ((_MS_NOSUID, _MS_NOSUID), (_MS_NODEV, _MS_NODEV), (_MS_NOEXEC, _MS_NOEXEC),
             (_MS_NOATIME, _MS_NOATIME), (_MS_NODIRATIME, _MS_NODIRATIME), (st_relatime, _MS_RELATIME))
    return sum(ms for st, ms in pairs if flag & st)


class _LandlockRules:
    """A Landlock ruleset precomputed for the child: read and execute everywhere, write only where granted."""

    def __init__(self, plan: LinuxPlan) -> None:
        abi = plan.landlock_abi
        handled = landlock_fs_mask(abi)
        net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if plan.landlock_net and abi >= 4 else 0
        # ABI 6 scopes signals to the sandbox's own processes: no kill of codex or anything else of the host.
        scoped = ((_SCOPE_ABSTRACT_UNIX_SOCKET if plan.landlock_net else 0) | _SCOPE_SIGNAL) if abi >= 6 else 0
        size = 8 if abi < 4 else 16 if abi < 6 else 24
        self._attr = ctypes.create_string_buffer(struct.pack("<QQQ", handled, net, scoped)[:size], size)
        self._size = size
        rules = [("/", _FS_READ), ("/dev", _FS_READ | _FS_IOCTL_DEV)]
        rules += [(dev, _FS_DEVICE_RW) for dev in _WRITABLE_DEVICES if os.path.exists(dev)]
        rules += [(root, handled) for root in plan.writable_roots]
        if plan.private_shm:
            rules.append(("/dev/shm", handled))
        self._rules = [(os.fsencode(path), access & handled, ctypes.create_string_buffer(12)) for path, access in rules]

    def apply(self, libc: ctypes.CDLL) -> None:
        syscall, c_long = libc.syscall, ctypes.c_long
        ruleset = int(syscall(c_long(_SYS_LANDLOCK_CREATE_RULESET), self._attr, c_long(self._size), c_long(0)))
        if ruleset < 0:
            raise _StepFailed("landlock_create_ruleset")
        for path, access, buf in self._rules:
            try:
                fd = os.open(path, _O_PATH | _O_CLOEXEC)
            except FileNotFoundError:
                continue  # a rule that cannot apply grants nothing: the safe side
            struct.pack_into("<Qi", buf, 0, access, fd)
            rc = syscall(c_long(_SYS_LANDLOCK_ADD_RULE), c_long(ruleset), c_long(_LANDLOCK_RULE_PATH_BENEATH), buf,
                         c_long(0))
            os.close(fd)
            if rc != 0:
                raise _StepFailed(f"landlock rule for {path.decode(errors='replace')}")
        if syscall(c_long(_SYS_LANDLOCK_RESTRICT_SELF), c_long(ruleset), c_long(0)) != 0:
            raise _StepFailed("landlock_restrict_self")
        os.close(ruleset)


# --- placeholders ------------------------------------------------------------------------------------------


class Placeholders:
    """Empty directories made for missing protected names (`.codex`, ...), shared by this process's sandboxes.

    A placeholder must outlive every command confined with it: removing it on the host would detach the
    read-only bind in the command's mount namespace and let the command create the name. While one exists it
    is recorded, with its device, inode and ctime, in `<state_dir>/<pid>.json`; `reap_stale()` removes those
    that a killed codex left behind (still empty, still the same untouched directory) and drops the record.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[Path, int] = {}
        self._owned: dict[Path, tuple[os.stat_result, Path | None]] = {}  # path -> (its lstat, state dir)

    def acquire(self, paths: Iterable[Path], state_dir: Path | None) -> list[Path]:
        """Create (or share this process's) placeholders at `paths`; those now held. An existing path is
        skipped: it is the user's directory, or another process's placeholder."""
        held: list[Path] = []
        with self._lock:
            for path in paths:
                if path in self._users:
                    self._users[path] += 1
                    held.append(path)
                    continue
                try:
                    os.mkdir(path, 0o555)  # EEXIST for anything already there, a dangling symlink included
                    st = os.lstat(path)
                except OSError:
                    continue
                self._users[path] = 1
                self._owned[path] = (st, state_dir)
                held.append(path)
            if held:
                self._save(state_dir)
        if held:
            _end_on_termination()
        return held

    def release(self, paths: Iterable[Path]) -> None:
        """Give up placeholders from `acquire`; the last user removes each (unless it is no longer empty)."""
        with self._lock:
            dirs: set[Path | None] = set()
            for path in paths:
                left = self._users.pop(path, 1) - 1
                if left > 0:
                    self._users[path] = left
                    continue
                owned = self._owned.pop(path, None)
                if owned is None:
                    continue
                dirs.add(owned[1])
                try:
                    os.rmdir(path)
                except OSError:
                    pass  # no longer empty: someone made it a real directory meanwhile
            for state_dir in dirs:
                self._save(state_dir)

    def _save(self, state_dir: Path | None) -> None:
        """Rewrite this process's record in `state_dir` (delete it when nothing is left). Best effort."""
        if state_dir is None:
            return
        record = state_dir / f"{os.getpid()}.json"
        entries = [{"path": str(p), "dev": st.st_dev, "ino": st.st_ino, "ctime_ns": st.st_ctime_ns}
                   for p, (st, d) in self._owned.items() if d == state_dir]
        try:
            if not entries:
                record.unlink(missing_ok=True)
                return
            state_dir.mkdir(parents=True, exist_ok=True)
            owner = {"pid": os.getpid(), "start": _process_start(os.getpid()), **_host_identity()}
            import json  # on use: a run that makes no placeholder (read-only, say) records nothing

            tmp = state_dir / f".{os.getpid()}.json.tmp"
            tmp.write_text(json.dumps({**owner, "placeholders": entries}), encoding="utf-8")
            os.replace(tmp, record)
        except OSError:
            pass  # an unwritable CODEX_HOME only loses the cleanup after a crash

    def reap_stale(self, state_dir: Path) -> None:
        """Remove the placeholders recorded by processes of this machine that no longer run."""
        try:
            names = os.listdir(state_dir)
        except OSError:
            return
        mine = f"{os.getpid()}.json"
        for name in names:
            if not name.endswith(".json") or name == mine:
                continue
            record = state_dir / name
            import json  # on use: most starts find no records

            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or _owner_alive(data):
                continue
            for entry in data.get("placeholders") or []:
                if isinstance(entry, dict):
                    _remove_placeholder(entry)
            try:
                record.unlink()
            except OSError:
                pass


def _process_start(pid: int) -> int | None:
    """The start time of process `pid` (clock ticks since boot), or None when it does not exist."""
    try:
        return int(_stat_fields(str(pid))[22 - 3])
    except (IndexError, ValueError):
        return None


def _stat_fields(pid: str) -> list[bytes]:
    """The fields of /proc/<pid>/stat from the third on (proc(5) field n is at index n - 3; the command name
    before them may hold spaces and parentheses), or [] when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []


@functools.cache
def _host_identity() -> dict[str, str]:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    return {"host": os.uname().nodename if hasattr(os, "uname") else "", "boot": boot}


def _owner_alive(data: dict[str, object]) -> bool:
    """Whether the process that wrote a record may still run; records of other hosts are never judged."""
    here = _host_identity()
    if data.get("host") != here["host"]:
        return True
    if data.get("boot") != here["boot"]:
        return False
    pid, start = data.get("pid"), data.get("start")
    return isinstance(pid, int) and start is not None and _process_start(pid) == start


def _remove_placeholder(entry: dict[str, object]) -> None:
    path = entry.get("path")
    if not isinstance(path, str):
        return
    try:
        st = os.lstat(path)
        recorded = (entry.get("dev"), entry.get("ino"), entry.get("ctime_ns"))
        if stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino, st.st_ctime_ns) == recorded:
            os.rmdir(path)  # fails, and so keeps it, once anything was put inside
    except OSError:
        pass


def _end_on_termination() -> None:
    """Make SIGTERM and SIGHUP end this process through its normal cleanup (closing sandboxes removes the
    placeholders) instead of killing it outright. Only where nobody chose a handler, and only from the main
    thread (the only one that may set handlers); elsewhere the next `reap_stale()` is the fallback."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, _leave)


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
