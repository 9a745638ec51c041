"""Known-safe Windows command lines, with the argv shapes Windows really produces (full paths, any case)."""

from __future__ import annotations

import pytest

from codex_cli.command_safety import is_known_safe_command
from codex_cli.windows_commands import is_known_safe_windows_command, windows_script_commands

PWSH = r"C:\Program Files\PowerShell\7\pwsh.exe"
WINPS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
CMD = r"C:\Windows\system32\cmd.exe"


def _safe(argv: list[str]) -> bool:
    return is_known_safe_command(argv)


@pytest.mark.parametrize("argv", [
    [PWSH, "-NoProfile", "-Command", "Get-ChildItem"],
    [PWSH, "-Command", "Get-ChildItem -Path . -Recurse | Select-Object Name,Length"],
    [WINPS, "-NoLogo", "-NoProfile", "-Command", "Get-Content README.md | Select-String -Pattern 'foo bar'"],
    [WINPS, "-Command:Get-Location"],
    ["pwsh", "Get-Content", "Cargo.toml"],
    [PWSH.upper(), "-NOPROFILE", "-COMMAND", "gci; pwd"],
    [PWSH, "-Command", "git status; git log --oneline -5"],
    [PWSH, "-Command", "rg -n TODO src"],
    [PWSH, "-Command", "Test-Path 'C:\\Program Files\\x'"],
    [CMD, "/c", "dir"],
    [CMD, "/d", "/s", "/c", 'type "my notes.txt"'],
    [CMD, "/c", "findstr /s /i todo *.py | findstr /v test"],
    [PWSH, "-Command", "git.exe status"],
])
def test_read_only_windows_command_lines_are_known_safe(argv: list[str]) -> None:
    assert _safe(argv), argv


@pytest.mark.parametrize("argv", [
    [PWSH, "-NoProfile", "-Command", "Get-Content a.txt > b.txt"],
    [PWSH, "-Command", "Get-Content a.txt >> b.txt"],
    [PWSH, "-Command", "Get-ChildItem | Out-File list.txt"],
    [PWSH, "-Command", "Set-Content notes.txt data"],
    [PWSH, "-Command", "Get-Content (New-Item bar.txt)"],
    [PWSH, "-Command", "Write-Output $env:OPENAI_API_KEY"],
    [PWSH, "-Command", "Get-ChildItem; Remove-Item -Recurse -Force C:\\src"],
    [PWSH, "-Command", "& 'C:\\tools\\x.exe'"],
    [PWSH, "-Command", "[IO.File]::WriteAllText('x', 'y')"],
    [PWSH, "-Command", "Get-ChildItem | % { $_.Delete() }"],
    [PWSH, "-Command", "Get-ChildItem | Tee-Object x.txt"],
    [PWSH, "-Command", "Invoke-WebRequest https://example.com"],
    [PWSH, "-Command", "echo `$x"],
    [PWSH, "-Command", "git --% status"],
    [PWSH, "-EncodedCommand", "RwBlAHQALQBDAGgAaQBsAGQASQB0AGUAbQA="],
    [PWSH, "-File", "script.ps1"],
    [PWSH, "-Command", "Get-Content a.txt", "extra"],
    [PWSH, "-Command", "git push"],
    [PWSH, "-Command", "git diff --output=x.patch"],
    [PWSH, "-Command", "rg --pre cat pattern"],
    [PWSH, "-Command", "Get-Content 'unterminated"],
    [PWSH],
    [CMD, "/c", "dir > out.txt"],
    [CMD, "/c", "type a & del b"],
    [CMD, "/c", "echo %USERPROFILE%"],
    [CMD, "/c", "del /q x"],
    [CMD, "/k", "dir"],
    [CMD, "/c", 'type "unbalanced'],
])
def test_windows_command_lines_that_write_expand_or_hide_are_not_safe(argv: list[str]) -> None:
    assert not _safe(argv), argv


def test_scripts_split_into_commands() -> None:
    assert windows_script_commands([PWSH, "-Command", "gci -Path 'a b'; git status | sls x"]) == [
        ["gci", "-Path", "a b"], ["git", "status"], ["sls", "x"]]
    assert windows_script_commands([CMD, "/c", 'dir "C:\\a b" | findstr x']) == [["dir", "C:\\a b"], ["findstr", "x"]]
    assert windows_script_commands(["bash", "-lc", "ls"]) is None


def test_posix_checks_decide_git_and_rg() -> None:
    seen: list[list[str]] = []

    def posix(argv: object) -> bool:
        seen.append(list(argv))  # type: ignore[call-overload]
        return True

    assert is_known_safe_windows_command([PWSH, "-Command", "git log -1"], posix)
    assert seen == [["git", "log", "-1"]]


# ------------------------------------------------------------------------------------------ the apply_patch guard

from pathlib import Path, PurePosixPath, PureWindowsPath  # noqa: E402

from codex_cli.safety import _is_writable, assess_patch  # noqa: E402

ROOT = PureWindowsPath(r"C:\work")


@pytest.mark.parametrize("target", [
    r"C:\work\.CODEX\config.toml", r"C:\work\.Git\hooks\pre-commit", r"c:\WORK\.git\config",
    r"\\?\C:\work\.git\config", r"C:\work\.git.\config", r"C:\work\.git \config", r"C:\work\.git::$DATA",
    r"C:\work\.codex:stream", r"C:\other\x.txt", r"D:\work\x.txt", "C:/work/.AGENTS/x",
])
def test_windows_paths_that_reach_protected_names_or_leave_the_root_are_blocked(target: str) -> None:
    assert not _is_writable(PureWindowsPath(target), [ROOT], fold_case=lambda root: False)


@pytest.mark.parametrize("target", [r"C:\work\src\main.py", r"c:/work/sub/.git/config", r"\\?\C:\work\a.txt"])
def test_windows_paths_inside_the_root_are_writable(target: str) -> None:
    assert _is_writable(PureWindowsPath(target), [ROOT], fold_case=lambda root: False)


def test_case_variants_follow_the_volume() -> None:
    root, target = PurePosixPath("/w"), PurePosixPath("/w/.GIT/config")
    assert not _is_writable(target, [root], fold_case=lambda r: True)  # APFS by default
    assert _is_writable(target, [root], fold_case=lambda r: False)  # ext4: .GIT is another folder


def test_a_symlinked_protected_name_still_guards_the_patch(tmp_path: Path) -> None:
    (tmp_path / "shared" / "codex").mkdir(parents=True)
    (tmp_path / ".codex").symlink_to("shared/codex")
    assessment = assess_patch([Path(".codex/config.toml")], policy="never", sandbox_mode="workspace-write",
                              writable_roots=[tmp_path], cwd=tmp_path)
    assert assessment.action == "reject"
    ok = assess_patch([Path("shared/codex/notes.md")], policy="never", sandbox_mode="workspace-write",
                      writable_roots=[tmp_path], cwd=tmp_path)
    assert ok.action == "run"
