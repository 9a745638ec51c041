"""The macOS Seatbelt profile, read on any OS: a rule table of what codex-rs's policy holds (written here from
its facts) checked against the generated SBPL, the protected names and paths of every writable root (case
variants, symlinks, /tmp and $TMPDIR), hostile file names, and `sandbox_policy.case_insensitive_volume`.

The profile is parsed by a small S-expression reader (strings, `#"..."` regex literals, comments), so a rule is
found as a form, not as a substring, and a profile whose parentheses do not balance fails every test.
tests/test_seatbelt_live.py runs the profile for real on macOS.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from codex_cli import sandbox_policy
from codex_cli.sandbox import SandboxPolicy
from codex_cli.sandbox_policy import case_insensitive_volume
from codex_cli.seatbelt import ALLOWED_UNIX_SOCKETS, SANDBOX_EXEC, seatbelt_argv, seatbelt_params

NAMES = (".git", ".codex", ".agents", ".aws")

# ------------------------------------------------------------------------------------------------ SBPL reader


class Str(str):
    """A "..." string of the profile."""


class Rx(str):
    """A #"..." regex literal of the profile."""


Form = str | list["Form"]


def _tokens(text: str) -> Iterator[str | Str | Rx]:
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\n":
            i += 1
        elif c == ";":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif c in "()":
            yield c
            i += 1
        elif c == '"' or text.startswith('#"', i):
            raw = c == "#"
            i += 2 if raw else 1
            chars: list[str] = []
            while True:
                assert i < len(text), "unterminated string"
                if text[i] == "\\" and i + 1 < len(text):
                    chars.append(text[i : i + 2] if raw else text[i + 1])
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    chars.append(text[i])
                    i += 1
            yield Rx("".join(chars)) if raw else Str("".join(chars))
        else:
            match = re.compile(r"[^\s()\";]+").match(text, i)
            assert match, f"unexpected character {c!r} at {i}"
            yield match.group()
            i = match.end()


def parse(text: str) -> list[Form]:
    """The profile's top-level forms; fails when a parenthesis is unbalanced."""
    stack: list[list[Form]] = [[]]
    for token in _tokens(text):
        if token == "(" and not isinstance(token, Str | Rx):
            stack.append([])
        elif token == ")" and not isinstance(token, Str | Rx):
            assert len(stack) > 1, "a ')' closes nothing"
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    assert len(stack) == 1, "a '(' is never closed"
    return stack[0]


def canon(form: Form) -> str:
    if isinstance(form, list):
        return "(" + " ".join(canon(f) for f in form) + ")"
    if isinstance(form, Rx):
        return '#"' + form + '"'
    if isinstance(form, Str):
        return '"' + form.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return form


def subforms(forms: list[Form]) -> Iterator[list[Form]]:
    for form in forms:
        if isinstance(form, list):
            yield form
            yield from subforms(form)


def strings(forms: list[Form]) -> Iterator[str]:
    for form in forms:
        if isinstance(form, list):
            yield from strings(form)
        elif isinstance(form, Str | Rx):
            yield form


class Profile:
    """A generated profile: its text, forms, rules (top-level forms, canonical) and parameters."""

    def __init__(self, policy: SandboxPolicy, env: dict[str, str]) -> None:
        argv = seatbelt_argv(policy, env)
        assert argv[:2] == [SANDBOX_EXEC, "-p"] and argv[-1] == "--"
        self.text = argv[2]
        self.forms = parse(self.text)
        self.rules = [canon(f) for f in self.forms]
        self.all = {canon(f) for f in subforms(self.forms)}
        defined = [arg[2:].partition("=") for arg in argv[3:-1]]
        assert all(arg.startswith("-D") for arg in argv[3:-1])
        self.params = {name: value for name, _, value in defined}
        assert len(self.params) == len(defined), "a parameter is defined twice"
        assert list(self.params.items()) == seatbelt_params(policy, env)

    def has(self, snippet: str) -> bool:
        """`snippet` (one form, any spacing) is a form somewhere in the profile."""
        (form,) = parse(snippet)
        return canon(form) in self.all

    def index(self, snippet: str) -> int:
        (form,) = parse(snippet)
        return self.rules.index(canon(form))

    def referenced(self) -> set[str]:
        return {str(f[1]) for f in subforms(self.forms) if f[:1] == ["param"] and len(f) == 2}


def profile(policy: SandboxPolicy, env: dict[str, str] | None = None) -> Profile:
    result = Profile(policy, env or {})
    assert result.referenced() == set(result.params), "a parameter is referenced but not defined, or unused"
    return result


def workspace(cwd: Path, **kwargs: object) -> SandboxPolicy:
    return SandboxPolicy.from_config("workspace-write", cwd, **kwargs)  # type: ignore[arg-type]


def name_rule(root_param: str, name: str, *, fold: bool) -> str:
    """Our form of codex-rs's `(require-not (regex #"^<root>/\\.git(/.*)?$"))`, built from the root parameter."""
    pattern = "".join(_fold(c) if fold else c for c in name).replace(".", "[.]")
    return f'(require-not (regex (string-append "^" (regex-quote (param "{root_param}")) "/{pattern}(/.*)?$")))'


def _fold(c: str) -> str:
    if c == "s":
        return "([sS]|[^/][^/])"
    return f"[{c}{c.upper()}]" if c.isalpha() else c


def root_param(p: Profile, path: Path) -> str:
    (name,) = [k for k, v in p.params.items() if v == str(path) and "_EXCLUDED_" not in k and k.startswith("WR")]
    return name


def excluded(p: Profile, root: str) -> dict[str, str]:
    return {v: k for k, v in p.params.items() if k.startswith(f"{root}_EXCLUDED_")}


@pytest.fixture
def case_sensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_policy, "case_insensitive_volume", lambda path: False)


@pytest.fixture
def case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_policy, "case_insensitive_volume", lambda path: True)


# ------------------------------------------------------------------------------------------------ rule table

# What codex-rs's base policy holds (codex-rs/sandboxing/src/seatbelt_base_policy.sbpl), as rules of ours.
BASE_RULES_PRESENT = {
    "closed by default": "(deny default)",
    "children inherit the profile": "(allow process-exec)",
    "signals only within the sandbox": "(allow signal (target same-sandbox))",
    "process info only within the sandbox": "(allow process-info* (target same-sandbox))",
    "/bin/ps runs unsandboxed (Homebrew shellenv in login shells)":
        '(allow process-exec (path "/bin/ps") (with no-sandbox))',
    "Java's kern.grade_cputype": '(allow sysctl-write (sysctl-name "kern.grade_cputype"))',
    "caffeinate's RootDomainUserClient": '(allow iokit-open (iokit-registry-entry-class "RootDomainUserClient"))',
    "libomp/PyTorch KMP registration shared memory":
        "(allow ipc-posix-shm-read-data ipc-posix-shm-write-create ipc-posix-shm-write-unlink"
        ' (ipc-posix-name-regex #"^/__KMP_REGISTERED_LIB_[0-9]+$"))',
    "multiprocessing semaphores": "(allow ipc-posix-sem)",
    "preferences shared memory, read only": '(allow ipc-posix-shm-read* (ipc-posix-name-prefix "apple.cfprefs."))',
    "preferences read": "(allow user-preference-read)",
    "openpty": "(allow pseudo-tty)",
    "the pty multiplexer": '(allow file-read* file-write* file-ioctl (literal "/dev/ptmx"))',
    "ttys only with the pty extension (the command's own)":
        '(allow file-read* file-write* (require-all (regex #"^/dev/ttys[0-9]+$")'
        ' (extension "com.apple.sandbox.pty")))',
    "ioctl on an inherited tty": '(allow file-ioctl (regex #"^/dev/ttys[0-9]+$"))',
    "/dev/null": '(allow file-write-data (require-all (path "/dev/null") (vnode-type CHARACTER-DEVICE)))',
    "reads everywhere": "(allow file-read*)",
}
BASE_RULES_ABSENT = {
    "any terminal writable": '(allow file-read* file-write* file-ioctl (regex #"^/dev/ttys[0-9]+$"))',
    "preferences write": "(allow user-preference-write)",
    "mach host ports": "(allow mach-host*)",
    "every system socket": "(allow system-socket)",
    "everything": "(allow default)",
}
MACH_SERVICES = {
    ("global-name", "com.apple.system.opendirectoryd.libinfo"),
    ("global-name", "com.apple.PowerManagement.control"),
    ("global-name", "com.apple.cfprefsd.daemon"),
    ("global-name", "com.apple.cfprefsd.agent"),
    ("local-name", "com.apple.cfprefsd.agent"),
}
NETWORK_MACH_SERVICES = {
    ("global-name", name) for name in (
        "com.apple.bsd.dirhelper", "com.apple.system.opendirectoryd.membership", "com.apple.SecurityServer",
        "com.apple.networkd", "com.apple.ocspd", "com.apple.trustd.agent",
        "com.apple.SystemConfiguration.DNSConfiguration", "com.apple.SystemConfiguration.configd")
}
SYSCTL_NAMES = {
    "hw.activecpu", "hw.busfrequency_compat", "hw.byteorder", "hw.cacheconfig", "hw.cachelinesize_compat",
    "hw.cpufamily", "hw.cpufrequency_compat", "hw.cputype", "hw.l1dcachesize_compat", "hw.l1icachesize_compat",
    "hw.l2cachesize_compat", "hw.l3cachesize_compat", "hw.logicalcpu_max", "hw.machine", "hw.model", "hw.memsize",
    "hw.ncpu", "hw.nperflevels", "hw.packages", "hw.pagesize_compat", "hw.pagesize", "hw.physicalcpu",
    "hw.physicalcpu_max", "hw.logicalcpu", "hw.cpufrequency", "hw.tbfrequency_compat", "hw.vectorunit",
    "machdep.cpu.brand_string", "kern.argmax", "kern.hostname", "kern.maxfilesperproc", "kern.maxproc",
    "kern.osproductversion", "kern.osrelease", "kern.ostype", "kern.osvariant_status", "kern.osversion",
    "kern.secure_kernel", "kern.usrstack64", "kern.version", "sysctl.proc_cputype", "vm.loadavg",
}
SYSCTL_PREFIXES = {"hw.optional.arm.", "hw.optional.armv8_", "hw.perflevel", "kern.proc.pgrp.", "kern.proc.pid.",
                   "net.routetable."}


def _allowed(p: Profile, operation: str) -> list[list[Form]]:
    return [f for f in p.forms if isinstance(f, list) and f[:2] == ["allow", operation]]


@pytest.mark.parametrize("mode", ["read-only", "workspace-write"])
@pytest.mark.parametrize("network", [False, True])
def test_base_rules_of_the_table(tmp_path: Path, mode: str, network: bool) -> None:
    p = profile(SandboxPolicy.from_config(mode, tmp_path, network_access=network))
    assert p.forms[0] == ["version", "1"] and p.forms[1] == ["deny", "default"]
    for rule, snippet in BASE_RULES_PRESENT.items():
        assert p.has(snippet), rule
    for rule, snippet in BASE_RULES_ABSENT.items():
        assert not p.has(snippet), rule
    # Reading everywhere comes after the terminal rules, which must not be read as the broad grant.
    assert p.index("(allow file-read*)") > p.index('(allow file-ioctl (regex #"^/dev/ttys[0-9]+$"))')


def test_sysctls_are_a_named_list_not_whole_trees(tmp_path: Path) -> None:
    p = profile(workspace(tmp_path))
    (rule,) = _allowed(p, "sysctl-read")
    names = {str(f[1]) for f in rule[2:] if isinstance(f, list) and f[0] == "sysctl-name"}
    prefixes = {str(f[1]) for f in rule[2:] if isinstance(f, list) and f[0] == "sysctl-name-prefix"}
    assert names == SYSCTL_NAMES
    assert prefixes == SYSCTL_PREFIXES
    assert len(rule) == 2 + len(names) + len(prefixes)
    assert "kern." not in prefixes and "hw." not in prefixes
    writes = _allowed(p, "sysctl-write")
    assert writes == [["allow", "sysctl-write", ["sysctl-name", "kern.grade_cputype"]]]


def _mach(p: Profile) -> set[tuple[str, str]]:
    return {(str(f[0]), str(f[1])) for rule in _allowed(p, "mach-lookup") for f in rule[2:] if isinstance(f, list)}


def test_mach_services_base_and_network(tmp_path: Path) -> None:
    assert _mach(profile(workspace(tmp_path))) == MACH_SERVICES
    assert _mach(profile(workspace(tmp_path, network_access=True))) == MACH_SERVICES | NETWORK_MACH_SERVICES


def test_network_off_allows_no_socket_at_all(tmp_path: Path) -> None:
    for policy in (workspace(tmp_path), SandboxPolicy.from_config("read-only", tmp_path, network_access=True)):
        p = profile(policy)
        assert not any("network" in rule or "system-socket" in rule for rule in p.rules), p.text
        assert not any(k.startswith("UNIX_SOCKET_PATH_") for k in p.params)


def test_network_on_is_ip_plus_listed_unix_sockets_only(tmp_path: Path) -> None:
    p = profile(workspace(tmp_path, network_access=True))
    outbound, inbound = p.index("(allow network-outbound)"), p.index("(allow network-inbound)")
    deny_unix = p.index("(deny network-outbound (remote unix-socket))")
    listed = p.index('(allow network-outbound (remote unix-socket (subpath (param "UNIX_SOCKET_PATH_0"))))')
    assert outbound < deny_unix < listed and inbound < deny_unix  # the last matching rule decides
    assert p.params["UNIX_SOCKET_PATH_0"] == ALLOWED_UNIX_SOCKETS[0] == "/private/var/run/mDNSResponder"
    assert [k for k in p.params if k.startswith("UNIX_SOCKET_PATH_")] == ["UNIX_SOCKET_PATH_0"]
    sockets = [canon(f) for f in _allowed(p, "system-socket")]
    assert sockets == ["(allow system-socket (require-all (socket-domain AF_SYSTEM) (socket-protocol 2)))",
                       "(allow system-socket (socket-domain AF_UNIX))"]
    # Nothing after the listed sockets widens the Unix sockets again; no bind to any socket at all.
    later = p.rules[deny_unix + 1 :]
    assert all("unix-socket" not in rule or "UNIX_SOCKET_PATH_" in rule for rule in later)
    assert not any("network-bind" in rule for rule in p.rules)
    assert p.has('(allow sysctl-read (sysctl-name-regex #"^net[.]routetable"))')
    assert "DARWIN_USER_CACHE_DIR" not in p.text


def test_danger_full_access_is_unconfined(tmp_path: Path) -> None:
    p = profile(SandboxPolicy.from_config("danger-full-access", tmp_path))
    assert p.rules == ["(version 1)", "(allow default)"] and p.params == {}


# ------------------------------------------------------------------------------------------------ writable roots


def _write_rule(p: Profile) -> list[Form]:
    (rule,) = _allowed(p, "file-write*")
    return rule


def _clause(p: Profile, param: str) -> set[str]:
    """The conditions of the `require-all` of the root `param`, canonical."""
    for clause in _write_rule(p)[2:]:
        assert isinstance(clause, list) and clause[0] == "require-all"
        if clause[1] == ["subpath", ["param", Str(param)]]:
            return {canon(c) for c in clause[2:]}
    raise AssertionError(f"no clause for {param}")


def _excludes(p: Profile, root: str, path: Path) -> bool:
    names = excluded(p, root)
    if str(path) not in names:
        return False
    clause = _clause(p, root)
    param = names[str(path)]
    return {f'(require-not (literal (param "{param}")))', f'(require-not (subpath (param "{param}")))'} <= clause


@pytest.mark.usefixtures("case_sensitive")
def test_protected_names_by_name_in_every_root_with_tmp_and_tmpdir(tmp_path: Path) -> None:
    cwd, extra, tmpdir, home = tmp_path / "w", tmp_path / "extra", tmp_path / "tmpdir", tmp_path / "home"
    for d in (cwd, extra, tmpdir, home / "memories"):
        d.mkdir(parents=True)
    p = profile(workspace(cwd, add_dirs=[extra], codex_home=home), {"TMPDIR": str(tmpdir)})
    roots = [cwd, extra, Path("/tmp").resolve(), tmpdir, home / "memories"]
    assert [p.params[f"WRITABLE_ROOT_{i}"] for i in range(len(roots))] == [str(r.resolve()) for r in roots]
    for i in range(len(roots)):
        clause = _clause(p, f"WRITABLE_ROOT_{i}")
        for name in NAMES:
            assert name_rule(f"WRITABLE_ROOT_{i}", name, fold=False) in clause, (i, name)
    for root in (cwd, extra):  # the project roots also list each name as a path, existing or not
        param = root_param(p, root.resolve())
        for name in NAMES:
            assert _excludes(p, param, root.resolve() / name)
    assert str(tmp_path) not in p.text  # every path is a parameter


@pytest.mark.usefixtures("case_sensitive")
def test_a_protected_root_inside_tmp_is_excluded_from_the_tmp_root_too(tmp_path: Path) -> None:
    cwd = Path("/tmp").resolve() / f"codex-seatbelt-{os.getpid()}"
    cwd.mkdir(exist_ok=True)
    try:
        p = profile(workspace(cwd))
        tmp = root_param(p, Path("/tmp").resolve())
        for name in NAMES:
            assert _excludes(p, tmp, cwd / name), name
    finally:
        cwd.rmdir()


def test_name_regexes_are_case_insensitive_on_a_case_insensitive_volume(
        tmp_path: Path, case_insensitive: None) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / ".git").write_text("gitdir: store\n", encoding="utf-8")
    p = profile(workspace(tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True,
                          codex_home=tmp_path / "Home"))
    clause = _clause(p, "WRITABLE_ROOT_0")
    for name in NAMES:
        assert name_rule("WRITABLE_ROOT_0", name, fold=True) in clause
        assert name_rule("WRITABLE_ROOT_0", name, fold=False) not in clause
    # The gitdir and $CODEX_HOME (paths, not names) get a case-insensitive regex besides their parameter.
    for path, pattern in ((tmp_path / "store", "/([sS]|[^/][^/])[tT][oO][rR][eE]"),
                          (tmp_path / "Home", "/[hH][oO][mM][eE]")):
        assert _excludes(p, "WRITABLE_ROOT_0", path)
        rule = f'(require-not (regex (string-append "^" (regex-quote (param "WRITABLE_ROOT_0")) "{pattern}(/.*)?$")))'
        assert rule in clause, clause


@pytest.mark.usefixtures("case_sensitive")
def test_the_volume_decides_folding_per_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ci, cs = tmp_path / "ci", tmp_path / "cs"
    ci.mkdir()
    cs.mkdir()
    monkeypatch.setattr(sandbox_policy, "case_insensitive_volume", lambda path: Path(path) == ci)
    p = profile(workspace(ci, add_dirs=[cs], exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    assert name_rule("WRITABLE_ROOT_0", ".git", fold=True) in _clause(p, "WRITABLE_ROOT_0")
    assert name_rule("WRITABLE_ROOT_1", ".git", fold=False) in _clause(p, "WRITABLE_ROOT_1")


def test_the_real_probe_decides_on_this_machine(tmp_path: Path) -> None:
    p = profile(workspace(tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    fold = case_insensitive_volume(tmp_path)
    assert name_rule("WRITABLE_ROOT_0", ".git", fold=fold) in _clause(p, "WRITABLE_ROOT_0")


@pytest.mark.usefixtures("case_sensitive")
def test_symlinked_protected_names_keep_the_name_and_protect_the_target(tmp_path: Path) -> None:
    cwd, elsewhere = tmp_path / "w", tmp_path / "elsewhere"
    (cwd / "shared" / "codex").mkdir(parents=True)
    elsewhere.mkdir()
    (cwd / ".git").symlink_to("../elsewhere")  # points outside the root
    (cwd / ".codex").symlink_to("shared/codex")  # points inside it
    p = profile(workspace(cwd, exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    root = cwd.resolve()
    # The names themselves (unresolved): `rm .codex && mkdir .codex` and `ln -sfn / .git` are refused.
    assert _excludes(p, "WRITABLE_ROOT_0", root / ".git")
    assert _excludes(p, "WRITABLE_ROOT_0", root / ".codex")
    assert name_rule("WRITABLE_ROOT_0", ".git", fold=False) in _clause(p, "WRITABLE_ROOT_0")
    # Where .codex points, inside the root: read-only too. Where .git points is outside every root.
    assert _excludes(p, "WRITABLE_ROOT_0", root / "shared" / "codex")
    assert str(elsewhere.resolve()) not in p.params.values()


@pytest.mark.usefixtures("case_sensitive")
def test_a_symlink_target_inside_another_root_is_protected_there(tmp_path: Path) -> None:
    cwd, other = tmp_path / "w", tmp_path / "other"
    cwd.mkdir()
    (other / "codex").mkdir(parents=True)
    (cwd / ".codex").symlink_to(other / "codex")
    p = profile(workspace(cwd, add_dirs=[other], exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    assert _excludes(p, root_param(p, other.resolve()), other.resolve() / "codex")


@pytest.mark.usefixtures("case_sensitive")
def test_codex_home_inside_a_root_is_read_only_but_memories_is_writable(tmp_path: Path) -> None:
    home = tmp_path / ".codex-home"
    (home / "memories").mkdir(parents=True)
    p = profile(workspace(tmp_path, codex_home=home, exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    assert _excludes(p, "WRITABLE_ROOT_0", home.resolve())
    assert root_param(p, (home / "memories").resolve()) == "WRITABLE_ROOT_1"


@pytest.mark.usefixtures("case_sensitive")
def test_a_memories_symlink_to_root_is_never_a_writable_root(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "memories").symlink_to("/")
    p = profile(workspace(tmp_path / "w", codex_home=home, exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    roots = [v for k, v in p.params.items() if re.fullmatch(r"WRITABLE_ROOT_\d+", k)]
    assert roots == [str((tmp_path / "w").resolve())]
    assert "/" not in roots and str(home / "memories") not in p.params.values()
    # The same through a chain of links, and a memories that resolves out of CODEX_HOME.
    (home / "memories").unlink()
    (tmp_path / "hop").symlink_to("/")
    (home / "memories").symlink_to(tmp_path / "hop")
    p = profile(workspace(tmp_path / "w", codex_home=home, exclude_slash_tmp=True, exclude_tmpdir_env_var=True))
    assert "/" not in p.params.values()


@pytest.mark.usefixtures("case_sensitive")
def test_an_approved_file_is_writable_in_read_only_and_its_protected_name_is_not_refused(tmp_path: Path) -> None:
    target = tmp_path / "src" / "a.py"
    target.parent.mkdir()
    policy = SandboxPolicy.from_config("read-only", tmp_path)
    policy = SandboxPolicy(policy.mode, approved_targets=(target,))
    p = profile(policy)
    assert p.params["WRITABLE_ROOT_0"] == str(target.parent.resolve())
    assert name_rule("WRITABLE_ROOT_0", ".git", fold=False) in _clause(p, "WRITABLE_ROOT_0")
    # A file the person approved inside a protected name: that name's regex is left out (as its path is).
    approved = tmp_path / ".codex" / "config.toml"
    (tmp_path / ".codex").mkdir()
    policy = workspace(tmp_path, exclude_slash_tmp=True, exclude_tmpdir_env_var=True)
    p = profile(SandboxPolicy(policy.mode, policy.writable_roots, approved_targets=(approved,)))
    clause = _clause(p, "WRITABLE_ROOT_0")
    assert name_rule("WRITABLE_ROOT_0", ".codex", fold=False) not in clause
    assert name_rule("WRITABLE_ROOT_0", ".git", fold=False) in clause


def test_root_slash_gets_name_regexes_without_a_double_slash(tmp_path: Path, case_sensitive: None) -> None:
    p = profile(SandboxPolicy("workspace-write", (Path("/"),), include_tmp=False, include_tmpdir_env=False))
    assert p.params["WRITABLE_ROOT_0"] == "/"
    assert '(require-not (regex "^/[.]git(/.*)?$"))' in _clause(p, "WRITABLE_ROOT_0")


# ------------------------------------------------------------------------------------------------ hostile names

HOSTILE = [
    '"', "'", "(", ")", ")(allow default)(", '#"', '"#', "\\", '\\"', "\n", "\r\n", "\t", ";", "; x\n(allow default)",
    "\u202e", "\u202egit.", "\u2066x\u2069", "\udcff", "\udc80\udcfe", "$", "^", "[", "]", "|", ".*", " ",
    '(param "WRITABLE_ROOT_0")', "é", "🙂", "\u017f", "\u212a", "*?+{}", "%s%n", "\x1b[2J", "-D", "=",
]


def _hostile_tree(base: Path, name: str) -> tuple[SandboxPolicy, dict[str, str], Path]:
    cwd = base / f"w{name}"
    (cwd / f"store{name}").mkdir(parents=True)
    (cwd / f"{name}codex").mkdir()
    (cwd / ".git").write_text(f"gitdir: store{name}\n", encoding="utf-8", errors="surrogateescape")
    (cwd / ".codex").symlink_to(f"{name}codex")
    tmpdir = base / f"t{name}"
    tmpdir.mkdir()
    (tmpdir / ".aws").symlink_to(cwd / f"{name}codex")
    home = cwd / f"home{name}"
    (home / "memories").mkdir(parents=True)
    policy = workspace(cwd, codex_home=home, exclude_slash_tmp=True)
    return policy, {"TMPDIR": str(tmpdir)}, cwd


SAFE_STRING = re.compile(r"[A-Za-z0-9_.*/^$()\[\]|?:+\-# ]*")


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and undecodable names")
@pytest.mark.parametrize("fold", [False, True], ids=["case-sensitive", "case-insensitive"])
def test_hostile_names_never_change_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fold: bool) -> None:
    monkeypatch.setattr(sandbox_policy, "case_insensitive_volume", lambda path: fold)
    benign_policy, benign_env, _ = _hostile_tree(tmp_path / "benign", "plain")
    benign = profile(benign_policy, benign_env)
    shape = _shape(benign.forms)
    for i, name in enumerate(HOSTILE):
        policy, env, cwd = _hostile_tree(tmp_path / str(i), name)
        p = profile(policy, env)  # parses, balances, and every parameter it names is defined
        assert _shape(p.forms) == shape, repr(name)
        assert p.text.isascii() and str(cwd) not in p.text, repr(name)
        assert all(SAFE_STRING.fullmatch(s) for s in strings(p.forms)), repr(name)
        if not fold:
            assert p.text == benign.text, repr(name)  # no path, hence no name, is in the text at all
        # The parameters carry the paths exactly, hostile bytes included.
        assert p.params["WRITABLE_ROOT_0"] == str(cwd.resolve())
        assert str(cwd.resolve() / f"{name}codex") in p.params.values()
        assert str(sandbox_policy._gitdir_named_by(cwd / ".git")) in p.params.values()  # as git reads the line


def _shape(forms: list[Form]) -> list[object]:
    """The profile's structure with the regex text after a root left out (its length follows the names)."""
    shaped: list[object] = []
    for form in forms:
        if isinstance(form, list):
            shaped.append(_shape(form))
        elif isinstance(form, Str) and form.startswith("/") and form.endswith("(/.*)?$"):
            shaped.append("<after-root>")
        else:
            shaped.append(form)
    return shaped


@pytest.mark.skipif(sys.platform == "win32", reason="undecodable names")
@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_hostile_case_insensitive_regex_matches_the_path_and_its_case_variants(
        tmp_path: Path, name: str, case_insensitive: None) -> None:
    policy, env, cwd = _hostile_tree(tmp_path, name)
    p = profile(policy, env)
    root = cwd.resolve()
    after = [s for s in strings(p.forms) if isinstance(s, Str) and "[sS]" in s and "[tT][oO][rR][eE]" in s]
    assert len(after) == 1, after
    # Read as a POSIX-style byte regex (what the profile's regex is): the root, quoted, then our text.
    assert after[0].startswith("/") and after[0].endswith("$")
    regex = re.compile(re.escape(os.fsencode(root)) + after[0][:-1].encode(), re.DOTALL)
    gitdir = sandbox_policy._gitdir_named_by(cwd / ".git")  # what git reads: `store` plus the name, trimmed
    assert gitdir is not None and gitdir.parent == root
    store = os.fsencode(gitdir.name)
    for variant in (store, store.upper(), store.lower(), store.swapcase()):
        spelled = os.fsencode(root) + b"/" + variant
        assert regex.fullmatch(spelled) and regex.fullmatch(spelled + b"/hooks/pre-commit"), (name, spelled)
    assert regex.fullmatch(os.fsencode(root) + b"/" + "\u017f".encode() + store[1:]), name
    assert not regex.fullmatch(os.fsencode(root) + b"/other"), name
    assert not regex.fullmatch(os.fsencode(root) + b"/" + store + b"x"), name


# ------------------------------------------------------------------------------------------------ the volume probe


def test_probe_says_case_sensitive_on_this_linux_file_system(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("ext4/tmpfs are case-sensitive; other systems' defaults differ")
    assert case_insensitive_volume(tmp_path) is False
    assert case_insensitive_volume(tmp_path / "missing" / "deeper") is False  # the nearest existing directory


def test_probe_sees_both_spellings_as_case_sensitive(tmp_path: Path) -> None:
    if case_insensitive_volume(tmp_path):
        pytest.skip("this volume folds case")
    (tmp_path / "Aa").mkdir()
    (tmp_path / "aA").mkdir()
    assert sandbox_policy._swapped_lookup(tmp_path, "Aa") is False


def test_probe_follows_a_faked_case_insensitive_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Project").mkdir()
    real_lstat = os.lstat

    def folding_lstat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        try:
            return real_lstat(path, *args, **kwargs)  # type: ignore[arg-type]
        except FileNotFoundError:
            p = Path(os.fsdecode(path))  # type: ignore[arg-type]
            for entry in os.listdir(p.parent):
                if entry.lower() == p.name.lower():
                    return real_lstat(p.parent / entry)
            raise

    monkeypatch.setattr(sandbox_policy.os, "lstat", folding_lstat)
    assert case_insensitive_volume(tmp_path / "Project") is True
    assert case_insensitive_volume(tmp_path / "Project" / "not-yet") is True


def test_probe_is_strict_when_nothing_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_policy, "_swapped_lookup", lambda directory, name: None)
    assert case_insensitive_volume(tmp_path) is True
    assert case_insensitive_volume(tmp_path / "missing") is True


def test_probe_stops_at_the_device_boundary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A directory whose entries say nothing and whose parent is another device: undecided, so strict.
    (tmp_path / "d" / "1").mkdir(parents=True)
    real_stat = os.stat
    target = tmp_path / "d"

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        result = real_stat(path, *args, **kwargs)  # type: ignore[arg-type]
        if Path(os.fsdecode(path)) != target:  # type: ignore[arg-type]
            return result
        fields = list(result)
        fields[2] = result.st_dev + 1  # st_dev
        return os.stat_result(fields)

    monkeypatch.setattr(sandbox_policy.os, "stat", stat)
    assert case_insensitive_volume(target) is True
