"""What a sandboxed command may write (`SandboxPolicy`), the names kept read-only inside writable roots, and reading
paths as the file system does: links resolved while they may be changing, letter case on volumes that ignore it.
`sandbox` enforces the policy; `seatbelt` and the apply_patch guard read it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from codex_cli.errors import ConfigError
from codex_cli.protocol import SANDBOX_MODES, SandboxMode
from codex_cli.records import Record

__all__ = ["PROTECTED_NAMES", "SandboxPolicy", "case_insensitive_volume", "is_within", "real_path", "unique_paths"]

PROTECTED_NAMES = (".git", ".agents", ".codex", ".aws")  # read-only at the top of every writable root (codex-rs order)


def real_path(path: Path) -> Path:
    """`path` with its links resolved as far as they resolve now. A link that changes while it is read (a process
    racing the check) makes os.path.realpath raise; the path is then taken as written (absolute), which the
    sandboxed write judges again anyway."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))


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
        if sandbox_mode not in SANDBOX_MODES:
            raise ConfigError(f"unknown sandbox_mode '{sandbox_mode}'; use one of: {', '.join(SANDBOX_MODES)}")
        mode = sandbox_mode
        workspace = mode == "workspace-write"
        roots = [cwd, *add_dirs, *writable_roots] if workspace else []
        return cls(
            mode=mode,
            writable_roots=tuple(unique_paths((cwd / Path(r).expanduser()).resolve() for r in roots)),
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
        return unique_paths(roots)

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
        for root in unique_paths(root.resolve() for root in self.writable_roots):
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
            if any(is_within(home, root) for root in self.effective_writable_roots(env)):
                paths.append(home)
        targets = [Path(os.path.abspath(t)) for t in self.approved_targets]
        return [p for p in unique_paths(paths) if not any(is_within(t, p) for t in targets)]


def unique_paths(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


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
