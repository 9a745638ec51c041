"""The context a thread starts with: AGENTS.md discovery, the environment context and the permissions text."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codex_cli.records import Record
from codex_cli.sandbox_policy import PROTECTED_NAMES

if TYPE_CHECKING:
    import datetime

    from codex_cli.protocol import AskForApproval, SandboxMode

__all__ = [
    "AgentsDoc",
    "PermissionsContext",
    "agents_doc_update",
    "date_and_timezone_context",
    "environment_context",
    "environment_context_update",
    "environments_state",
    "file_system_sandbox_policy",
    "find_project_root",
    "load_agents_doc",
    "permission_profile",
    "permissions_instructions",
    "sandbox_policy",
]

# Our wording of the notice codex-rs puts in front of AGENTS.md text that changed since the thread last saw it.
AGENTS_UPDATE_NOTICE = (
    "The AGENTS.md instructions below replace all AGENTS.md instructions given earlier in this conversation."
)
_BUDGET_ADVICE = (
    "Trim your project instructions to fit the budget. "
    "If you need to keep them all, increase `project_doc_max_bytes`."
)


def _escape(text: str) -> str:
    """`&`, `<` and `>` as XML entities, as `xml.sax.saxutils.escape` does (without importing the xml package)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class AgentsDoc(Record):
    """The AGENTS.md block for the first user message, and warnings about the byte budget."""

    text: str | None
    body: str
    warnings: tuple[str, ...]


class PermissionsContext(Record):
    """What the model is told about its sandbox: mode, network and writable roots."""

    sandbox_mode: SandboxMode
    approval_policy: AskForApproval
    network_access: bool
    cwd: Path
    writable_roots: tuple[Path, ...]  # cwd first, then --add-dir and configured roots
    include_tmp: bool = True  # /tmp is writable (not `exclude_slash_tmp`)
    include_tmpdir: bool = True  # $TMPDIR is writable (not `exclude_tmpdir_env_var`)


def find_project_root(cwd: Path, markers: Sequence[str] = (".git",)) -> Path | None:
    """The nearest directory from cwd upwards holding one of the markers."""
    for directory in (cwd, *cwd.parents):
        if any((directory / marker).exists() for marker in markers):
            return directory
    return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _global_instructions(codex_home: Path) -> str:
    for name in ("AGENTS.override.md", "AGENTS.md"):
        text = _read_text(codex_home / name)
        if text is not None and text.strip():
            return text.strip()
    return ""


def _project_file(directory: Path, fallback_names: Sequence[str]) -> Path | None:
    for name in ("AGENTS.override.md", "AGENTS.md", *fallback_names):
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _project_dirs(cwd: Path, markers: Sequence[str]) -> list[Path]:
    root = find_project_root(cwd, markers) if markers else None
    if root is None or root == cwd:
        return [cwd]
    dirs = [cwd]
    for parent in cwd.parents:
        dirs.append(parent)
        if parent == root:
            break
    return list(reversed(dirs))


def load_agents_doc(
    codex_home: Path,
    cwd: Path,
    *,
    max_bytes: int = 32768,
    fallback_filenames: Sequence[str] = (),
    root_markers: Sequence[str] = (".git",),
) -> AgentsDoc:
    """Read the global and project AGENTS.md files, root first, within the byte budget."""
    global_text = _global_instructions(codex_home)
    parts: list[str] = []
    warnings: list[str] = []
    remaining = max_bytes
    if max_bytes > 0:
        for directory in _project_dirs(cwd, root_markers):
            path = _project_file(directory, fallback_filenames)
            if path is None:
                continue
            data = path.read_bytes()
            if not data.strip():
                continue
            if remaining <= 0:
                warnings.append(
                    f"Skipped project instructions in environment `local` starting at `{path}` because the "
                    f"{max_bytes}-byte budget was exhausted. {_BUDGET_ADVICE}"
                )
                break
            if len(data) > remaining:
                warnings.append(
                    f"Loaded only {remaining} of {len(data)} bytes from `{path}` in environment `local` under "
                    f"the {max_bytes}-byte project instruction budget. {_BUDGET_ADVICE}"
                )
                data = data[:remaining]
            remaining -= len(data)
            parts.append(data.decode("utf-8", errors="ignore"))
    project_text = "\n\n".join(parts)
    if global_text and project_text:
        body = f"{global_text}\n\n--- project-doc ---\n\n{project_text}"
    else:
        body = global_text or project_text
    if not body:
        return AgentsDoc(None, "", tuple(warnings))
    header = f"# AGENTS.md instructions for {cwd}" if project_text else "# AGENTS.md instructions"
    return AgentsDoc(f"{header}\n\n<INSTRUCTIONS>\n{body}\n</INSTRUCTIONS>", body, tuple(warnings))


def agents_doc_update(doc: AgentsDoc, cwd: Path) -> str:
    """The user text sent when AGENTS.md changed between turns: the notice, a blank line, then the new body."""
    header = doc.text.split("\n", 1)[0] if doc.text else f"# AGENTS.md instructions for {cwd}"
    body = f"{AGENTS_UPDATE_NOTICE}\n\n{doc.body}" if doc.body else AGENTS_UPDATE_NOTICE
    return f"{header}\n\n<INSTRUCTIONS>\n{body}\n</INSTRUCTIONS>"


def _local_timezone() -> str:
    tz = os.environ.get("TZ", "")
    if tz and not tz.startswith(":") and "/" in tz:
        return tz
    try:
        link = os.readlink("/etc/localtime")
    except OSError:
        link = ""
    if "zoneinfo/" in link:
        return link.split("zoneinfo/", 1)[1]
    import datetime

    name = datetime.datetime.now().astimezone().tzname() or "UTC"
    return "Etc/UTC" if name == "UTC" else name


def _entry(access: str, *, path: Path | None = None, special: str | None = None) -> str:
    inner = f"<path>{_escape(str(path))}</path>" if path is not None else f"<special>{special}</special>"
    return f'<entry access="{access}">{inner}</entry>'


def _file_system_entries(ctx: PermissionsContext) -> list[tuple[str, Path | str]]:
    """(access, path or `:special`) of a restricted sandbox, in codex-rs's order: read `:root`; for workspace-write
    each writable root, `/tmp` and `$TMPDIR` unless excluded, then the read-only carve-outs grouped by name."""
    entries: list[tuple[str, Path | str]] = [("read", ":root")]
    if ctx.sandbox_mode == "workspace-write":
        entries += [("write", root) for root in ctx.writable_roots]
        entries += [("write", ":slash_tmp")] if ctx.include_tmp else []
        entries += [("write", ":tmpdir")] if ctx.include_tmpdir else []
        entries += [("read", root / name) for name in PROTECTED_NAMES for root in ctx.writable_roots]
    return entries


def _filesystem(ctx: PermissionsContext) -> str:
    roots = "".join(f"<root>{_escape(str(r))}</root>" for r in ctx.writable_roots or (ctx.cwd,))
    if ctx.sandbox_mode == "danger-full-access":
        profile = '<permission_profile type="disabled"><file_system type="unrestricted" /></permission_profile>'
    else:
        entries = [
            _entry(access, special=where) if isinstance(where, str) else _entry(access, path=where)
            for access, where in _file_system_entries(ctx)
        ]
        profile = (
            '<permission_profile type="managed"><file_system type="restricted">'
            + "".join(entries)
            + "</file_system></permission_profile>"
        )
    return f"<filesystem><workspace_roots>{roots}</workspace_roots>{profile}</filesystem>"


def _structured_entries(ctx: PermissionsContext) -> list[dict[str, object]]:
    """The file-system entries as a rollout's `turn_context` spells them (`permission_profile`)."""
    out: list[dict[str, object]] = []
    for access, where in _file_system_entries(ctx):
        if isinstance(where, str):
            out.append({"path": {"type": "special", "value": {"kind": where[1:]}}, "access": access})
            continue
        entry: dict[str, object] = {"path": {"type": "path", "path": str(where)}, "access": access}
        if access == "read":  # a carve-out inside a writable root, which may not exist
            entry["missing_path_behavior"] = "skip"
        out.append(entry)
    return out


def permission_profile(ctx: PermissionsContext) -> dict[str, object]:
    """The `permission_profile` of a rollout's `turn_context`: what the sandbox lets commands read, write and
    reach, in codex-rs 0.169's shape (codex-rs compares it with the current one on resume)."""
    if ctx.sandbox_mode == "danger-full-access":
        return {"type": "disabled"}
    network = "enabled" if ctx.network_access and ctx.sandbox_mode == "workspace-write" else "restricted"
    file_system = {"type": "restricted", "entries": _structured_entries(ctx)}
    return {"type": "managed", "file_system": file_system, "network": network}


def file_system_sandbox_policy(ctx: PermissionsContext) -> dict[str, object] | None:
    """The `file_system_sandbox_policy` codex-rs adds to a workspace-write `turn_context` (None otherwise)."""
    if ctx.sandbox_mode != "workspace-write":
        return None
    return {"kind": "restricted", "entries": _structured_entries(ctx)}


def environments_state(ctx: PermissionsContext, shell: str, *, today: datetime.date | None = None) -> dict[str, object]:
    """The `environments` section of a rollout's `world_state`: what the `<environment_context>` told the model,
    compared on resume to decide what to tell it again."""
    return {
        "environments": {"local": {"cwd": str(ctx.cwd), "status": "available", "shell": shell}},
        "current_date": _date_text(today),
        "timezone": _local_timezone(),
        "filesystem": _filesystem(ctx),
    }


def _date_text(today: datetime.date | None) -> str:
    # datetime is imported on use: config.py imports this module for `find_project_root`, on every start.
    import datetime

    return (today or datetime.date.today()).isoformat()


def _context_block(*lines: str) -> str:
    return "<environment_context>\n" + "".join(f"  {line}\n" for line in lines) + "</environment_context>"


def _when(today: datetime.date | None) -> tuple[str, str]:
    return f"<current_date>{_date_text(today)}</current_date>", f"<timezone>{_escape(_local_timezone())}</timezone>"


def environment_context(ctx: PermissionsContext, shell: str, *, today: datetime.date | None = None) -> str:
    """The `<environment_context>` block of the first user message."""
    return _context_block(f"<cwd>{_escape(str(ctx.cwd))}</cwd>", f"<shell>{_escape(shell)}</shell>", *_when(today),
                          _filesystem(ctx))


def environment_context_update(ctx: PermissionsContext, *, today: datetime.date | None = None) -> str:
    """The environment context sent after the sandbox changed but not the cwd: date, timezone and filesystem."""
    return _context_block(*_when(today), _filesystem(ctx))


def date_and_timezone_context() -> str:
    """The environment context of an auxiliary request (the thread-title request): date and timezone only."""
    return _context_block(*_when(None))


def sandbox_policy(ctx: PermissionsContext) -> dict[str, object]:
    """The `sandbox_policy` of a rollout's `turn_context` line, in codex-rs's shape."""
    if ctx.sandbox_mode != "workspace-write":
        return {"type": ctx.sandbox_mode}
    policy: dict[str, object] = {"type": "workspace-write"}
    extra = [str(root) for root in ctx.writable_roots if root != ctx.cwd]
    if extra:
        policy["writable_roots"] = extra
    policy.update(network_access=ctx.network_access, exclude_tmpdir_env_var=not ctx.include_tmpdir,
                  exclude_slash_tmp=not ctx.include_tmp)
    return policy


_SANDBOX_SENTENCES = {
    "read-only": "The sandbox only permits reading files; commands that write will fail.",
    "workspace-write": (
        "Commands may read any file and write inside the writable roots; writes elsewhere are blocked."
    ),
    "danger-full-access": "Commands run without any sandbox: they can read and write anywhere.",
}

_APPROVAL_SENTENCES = {
    "never": (
        "Approval policy is `never`: nobody will be asked to approve anything, so do not request escalated "
        "permissions (`sandbox_permissions`); when something is blocked, work around it or explain it."
    ),
    "on-request": (
        "Approval policy is `on-request`: commands run in the sandbox; when one truly needs more access, "
        'run it with `sandbox_permissions` set to "require_escalated" and a one-sentence `justification`, '
        "and the user will be asked."
    ),
    "on-failure": (
        "Approval policy is `on-failure`: commands run in the sandbox, and when one fails because of it "
        "the user is offered to run it again without the sandbox."
    ),
    "untrusted": (
        "Approval policy is `untrusted`: only known read-only commands run without asking; the user is "
        "asked before anything else runs."
    ),
}


def permissions_instructions(ctx: PermissionsContext) -> str:
    """The `<permissions instructions>` developer text: sandbox, network, approvals, writable roots."""
    network = "enabled" if ctx.network_access or ctx.sandbox_mode == "danger-full-access" else "restricted"
    lines = [
        f"Filesystem sandboxing: `sandbox_mode` is `{ctx.sandbox_mode}`. "
        + _SANDBOX_SENTENCES.get(ctx.sandbox_mode, ""),
        f"Network access is {network}.",
        _APPROVAL_SENTENCES.get(ctx.approval_policy, f"Approval policy is `{ctx.approval_policy}`."),
    ]
    text = "\n".join(lines)
    if ctx.sandbox_mode == "workspace-write":
        roots = sorted({str(r) for r in ctx.writable_roots} | ({"/tmp"} if ctx.include_tmp else set()))
        text += " The writable roots are " + ", ".join(f"`{r}`" for r in roots) + "."
    return f"<permissions instructions>\n{text}\n</permissions instructions>"
