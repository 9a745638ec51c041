"""`codex completion SHELL`: completion scripts for bash, zsh, fish and PowerShell, read off the argument tree.

Nothing here lists a command or a flag: `command_tree()` walks `codex_cli.cli_parser.build_parser()` (subparser
choices with their aliases, every option string, whether an option takes a value, `choices` of options
and positionals; options hidden with `argparse.SUPPRESS` are left out) and each renderer turns that one
tree into a script. A command is named by its path joined with `__` (`codex__exec`), as clap does.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator

__all__ = ["SHELLS", "Command", "Option", "command_tree", "main", "register", "render"]

SHELLS = ("bash", "zsh", "fish", "powershell")
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_.:+=/@%,-]+$")
_DESCRIPTION = (
    "Print a completion script for SHELL on stdout, generated from codex's own argument tree.\n\n"
    "examples:\n"
    "  codex completion bash > ~/.local/share/bash-completion/completions/codex\n"
    '  codex completion zsh > "${fpath[1]}/_codex"\n'
    "  codex completion fish > ~/.config/fish/completions/codex.fish\n"
    "  codex completion powershell | Out-String | Invoke-Expression"
)


# Plain classes, not dataclasses: cli.py imports this module to build the parser, and `dataclasses`
# (with `inspect`) would add milliseconds to every `codex --version`.
class Option:
    """One option: its strings (`-s`, `--sandbox`), whether it takes a value, and the values it accepts."""

    __slots__ = ("choices", "flags", "help", "repeatable", "takes_value")

    def __init__(
        self,
        flags: tuple[str, ...],
        help: str,
        takes_value: bool,
        choices: tuple[str, ...] = (),
        repeatable: bool = False,
    ) -> None:
        self.flags = flags
        self.help = help
        self.takes_value = takes_value
        self.choices = choices
        self.repeatable = repeatable


class Command:
    """A node of the tree: its key (`codex__exec`), options, subcommands by every name, positional choices."""

    __slots__ = ("help", "key", "options", "positional_choices", "subcommands")

    def __init__(self, key: str, help: str = "") -> None:
        self.key = key
        self.help = help
        self.options: list[Option] = []
        self.subcommands: dict[str, Command] = {}
        self.positional_choices: list[str] = []

    def walk(self) -> Iterator[Command]:
        """This command and every command below it, each once, parents first."""
        yield self
        seen: set[str] = set()
        for child in self.subcommands.values():
            if child.key not in seen:
                seen.add(child.key)
                yield from child.walk()

    def value_options(self) -> list[str]:
        return [flag for option in self.options if option.takes_value for flag in option.flags]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `codex completion [SHELL]` to the tree."""
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish, powershell)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", nargs="?", default="bash", choices=SHELLS, help="the shell (default: bash)")
    parser.set_defaults(handler="codex_cli.completion:main")


def main(args: argparse.Namespace) -> int:
    """Handler of `codex completion`: write the script for `args.shell` to stdout."""
    from codex_cli.cli_parser import build_parser

    sys.stdout.write(render(getattr(args, "shell", None) or "bash", build_parser()))
    return 0


def render(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for `shell`, for the tree under `parser` (whose prog names the command)."""
    tree = command_tree(parser)
    name = parser.prog.split()[0]
    renderers = {"bash": _render_bash, "zsh": _render_zsh, "fish": _render_fish, "powershell": _render_powershell}
    if shell not in renderers:
        raise ValueError(f"unknown shell {shell!r}; choose from {', '.join(SHELLS)}")
    return renderers[shell](tree, name)


# -- walking the parser ------------------------------------------------------------------------------------


def command_tree(parser: argparse.ArgumentParser, key: str | None = None, help: str = "") -> Command:
    """Read the options, positional choices and subcommands of `parser`, recursively."""
    command = Command(key or _key(parser.prog.split()[0]), help)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            _add_subcommands(command, action)
        elif action.option_strings:
            if action.help != argparse.SUPPRESS:
                command.options.append(_option(action))
        elif action.choices is not None:
            command.positional_choices.extend(_words(action.choices))
    return command


def _add_subcommands(command: Command, action: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    helps = {str(choice.dest): str(choice.help or "") for choice in action._choices_actions}
    by_parser: dict[int, Command] = {}
    for name, subparser in dict(action.choices).items():
        if not _SAFE_WORD.match(name):
            continue
        child = by_parser.get(id(subparser))
        if child is None:  # the first name is the command, the later ones its aliases
            child = command_tree(subparser, f"{command.key}__{_key(name)}", helps.get(name, ""))
            by_parser[id(subparser)] = child
        command.subcommands[name] = child


def _option(action: argparse.Action) -> Option:
    takes_value = action.nargs != 0
    choices = tuple(_words(action.choices)) if action.choices is not None and takes_value else ()
    help = action.help if isinstance(action.help, str) else ""
    if "%(" in help:
        help = help.split("%(")[0].strip()
    repeatable = isinstance(action, (argparse._AppendAction, argparse._CountAction))
    return Option(tuple(action.option_strings), help, takes_value, choices, repeatable)


def _words(values: object) -> list[str]:
    words = [str(value) for value in values] if isinstance(values, (list, tuple, dict, range, set)) else []
    return [word for word in words if _SAFE_WORD.match(word)]


def _key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- bash --------------------------------------------------------------------------------------------------


def _render_bash(tree: Command, name: str) -> str:
    fn = f"_{_key(name)}"
    transitions: list[str] = []
    skips: list[str] = []
    values: list[str] = []
    lists: list[str] = []
    for command in tree.walk():
        for word, child in command.subcommands.items():
            transitions.append(f'            "{command.key},{word}") cmd="{child.key}" ;;')
        if command.value_options():
            skips.append("|".join(f'"{command.key},{flag}"' for flag in command.value_options()) + ") return 0 ;;")
        for option in command.options:
            if option.takes_value:
                pattern = "|".join(f'"{command.key},{flag}"' for flag in option.flags)
                action = (
                    f'COMPREPLY=($(compgen -W "{" ".join(option.choices)}" -- "$cur"))'
                    if option.choices else "COMPREPLY=()"
                )
                values.append(f"        {pattern})\n            {action}\n            return 0 ;;")
        flags = " ".join(flag for option in command.options for flag in option.flags)
        words = " ".join([*command.subcommands, *command.positional_choices])
        lists.append(f'        {command.key}) opts="{flags}"; words="{words}" ;;')
    return "\n".join([
        f"# bash completion for {name}, generated by `{name} completion bash` from its argument tree.",
        f"{fn}_takes_value() {{",
        '    case "$1,$2" in',
        *(f"        {line}" for line in skips),
        "    esac",
        "    return 1",
        "}",
        "",
        f"{fn}() {{",
        "    local cur prev word cmd i opts words",
        "    COMPREPLY=()",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev=""',
        '    if [[ $COMP_CWORD -gt 0 ]]; then prev="${COMP_WORDS[COMP_CWORD-1]}"; fi',
        f'    cmd="{tree.key}"',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        if [[ "$word" == "--" ]]; then return 0; fi',
        f'        if {fn}_takes_value "$cmd" "$word"; then ((i++)); continue; fi',
        '        case "$cmd,$word" in',
        *transitions,
        "        esac",
        "    done",
        '    case "$cmd,$prev" in',
        *values,
        "    esac",
        '    case "$cmd" in',
        *lists,
        "    esac",
        '    if [[ "$cur" == -* ]]; then',
        '        COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
        "    else",
        '        COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "    fi",
        "    return 0",
        "}",
        "",
        'if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then',
        f"    complete -F {fn} -o nosort -o bashdefault -o default {name}",
        "else",
        f"    complete -F {fn} -o bashdefault -o default {name}",
        "fi",
        "",
    ])


# -- zsh ---------------------------------------------------------------------------------------------------


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _zsh_help(text: str) -> str:
    return re.sub(r"([\[\]:\\])", r"\\\1", _one_line(text))


def _zsh_option_specs(option: Option) -> list[str]:
    exclusive = "" if option.repeatable or len(option.flags) == 1 else f"({' '.join(option.flags)})"
    star = "*" if option.repeatable else ""
    specs = []
    for flag in option.flags:
        if option.takes_value:
            suffix = "=" if flag.startswith("--") else "+"
            action = f"({' '.join(option.choices)})" if option.choices else "_default"
            spec = f"{exclusive}{star}{flag}{suffix}[{_zsh_help(option.help)}]:value:{action}"
        else:
            spec = f"{exclusive}{star}{flag}[{_zsh_help(option.help)}]"
        specs.append(_zsh_quote(spec))
    return specs


def _zsh_function(command: Command, fn: str) -> list[str]:
    specs = [spec for option in command.options for spec in _zsh_option_specs(option)]
    if command.subcommands:
        specs += ["': :->command'", "'*:: :->args'"]
    elif command.positional_choices:
        specs.append(_zsh_quote(f": :({' '.join(command.positional_choices)})"))
    else:
        specs.append("'*: :_default'")
    lines = [f"_{command.key}() {{", '    local curcontext="$curcontext" state line', "    typeset -A opt_args"]
    lines.append("    _arguments -C -s -S \\")
    lines += [f"        {spec} \\" for spec in specs[:-1]] + [f"        {specs[-1]} && return 0"]
    if command.subcommands:
        described = [f"{word}:{_zsh_help(child.help)}" for word, child in command.subcommands.items()]
        lines += [
            "    case $state in",
            "        command)",
            "            local -a commands",
            "            commands=(",
            *(f"                {_zsh_quote(item)}" for item in described),
            "            )",
            f"            _describe -t commands {_zsh_quote(fn + ' command')} commands ;;",
            "        args)",
            '            case "$words[1]" in',
        ]
        groups: dict[str, list[str]] = {}
        for word, child in command.subcommands.items():
            groups.setdefault(child.key, []).append(word)
        for key, words in groups.items():
            lines.append(f"                ({'|'.join(words)}) _{key} ;;")
        lines += ["            esac ;;", "    esac"]
    lines += ["}", ""]
    return lines


def _render_zsh(tree: Command, name: str) -> str:
    lines = [f"#compdef {name}", f"# zsh completion for {name}, generated by `{name} completion zsh`.", ""]
    for command in tree.walk():
        lines += _zsh_function(command, name)
    lines += [
        f'if [ "$funcstack[1]" = "_{tree.key}" ]; then',
        f'    _{tree.key} "$@"',
        "else",
        f"    compdef _{tree.key} {name}",
        "fi",
        "",
    ]
    return "\n".join(lines)


# -- fish --------------------------------------------------------------------------------------------------


def _fish_quote(text: str) -> str:
    return "'" + _one_line(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_option(command: Command, option: Option, name: str) -> str:
    parts = [f"complete -c {name} -n '__fish_{_key(name)}_is {command.key}'"]
    for flag in option.flags:
        if flag.startswith("--"):
            parts.append(f"-l {flag[2:]}")
        elif len(flag) == 2:
            parts.append(f"-s {flag[1]}")
        else:
            parts.append(f"-o {flag[1:]}")
    if option.choices:
        parts.append(f"-x -a {_fish_quote(' '.join(option.choices))}")
    elif option.takes_value:
        parts.append("-r")
    if option.help:
        parts.append(f"-d {_fish_quote(option.help)}")
    return " ".join(parts)


def _render_fish(tree: Command, name: str) -> str:
    helper = f"__fish_{_key(name)}"
    cases: list[str] = []
    completions: list[str] = []
    for command in tree.walk():
        for word, child in command.subcommands.items():
            cases += [f"            case '{command.key},{word}'", f"                set path {child.key}"]
        if command.value_options():
            cases.append("            case " + " ".join(f"'{command.key},{flag}'" for flag in command.value_options()))
            cases.append("                set skip 1")
        for word, child in command.subcommands.items():
            description = f" -d {_fish_quote(child.help)}" if child.help else ""
            completions.append(f"complete -c {name} -n '{helper}_is {command.key}' -f -a {word}{description}")
        if command.positional_choices:
            words = _fish_quote(" ".join(command.positional_choices))
            completions.append(f"complete -c {name} -n '{helper}_is {command.key}' -f -a {words}")
        completions += [_fish_option(command, option, name) for option in command.options]
    return "\n".join([
        f"# fish completion for {name}, generated by `{name} completion fish`.",
        f"function {helper}_path",
        "    set -l tokens (commandline -opc)",
        "    set -e tokens[1]",
        f"    set -l path {tree.key}",
        "    set -l skip 0",
        "    for token in $tokens",
        "        if test $skip = 1",
        "            set skip 0",
        "            continue",
        "        end",
        '        switch "$path,$token"',
        *cases,
        "        end",
        "    end",
        "    echo $path",
        "end",
        "",
        f"function {helper}_is",
        f'    test ({helper}_path) = "$argv[1]"',
        "end",
        "",
        *completions,
        "",
    ])


# -- PowerShell --------------------------------------------------------------------------------------------


def _ps_quote(text: str) -> str:
    return "'" + _one_line(text).replace("'", "''") + "'"


def _ps_result(text: str, kind: str, help: str) -> str:
    return f"[CompletionResult]::new({_ps_quote(text)}, {_ps_quote(text)}, [CompletionResultType]::{kind}, " \
        f"{_ps_quote(help or text)})"


def _render_powershell(tree: Command, name: str) -> str:
    transitions: list[str] = []
    skips: list[str] = []
    value_cases: list[str] = []
    lists: list[str] = []
    for command in tree.walk():
        for word, child in command.subcommands.items():
            transitions.append(f"            '{command.key},{word}' {{ $path = '{child.key}' }}")
        skips += [f"'{command.key},{flag}'" for flag in command.value_options()]
        for option in command.options:
            if option.takes_value:
                results = [_ps_result(choice, "ParameterValue", choice) for choice in option.choices]
                for flag in option.flags:
                    value_cases.append(f"        '{command.key},{flag}' {{ {'; '.join(results)} }}")
        results = [_ps_result(word, "ParameterValue", child.help) for word, child in command.subcommands.items()]
        results += [_ps_result(word, "ParameterValue", word) for word in command.positional_choices]
        results += [
            _ps_result(flag, "ParameterName", option.help) for option in command.options for flag in option.flags
        ]
        lists.append(f"        '{command.key}' {{")
        lists += [f"            {result}" for result in results]
        lists.append("        }")
    return "\n".join([
        f"# PowerShell completion for {name}, generated by `{name} completion powershell`.",
        "using namespace System.Management.Automation",
        "using namespace System.Management.Automation.Language",
        "",
        f"Register-ArgumentCompleter -Native -CommandName '{name}' -ScriptBlock {{",
        "    param($wordToComplete, $commandAst, $cursorPosition)",
        f"    $valueOptions = @({', '.join(skips)})",
        f"    $path = '{tree.key}'",
        "    $prev = ''",
        "    $elements = $commandAst.CommandElements",
        "    for ($i = 1; $i -lt $elements.Count; $i++) {",
        "        $element = $elements[$i]",
        "        if ($element.Extent.EndOffset -ge $cursorPosition) { break }",
        "        $token = $element.Extent.Text",
        "        if ($token -eq '--') { return }",
        "        if ($valueOptions -contains \"$path,$prev\") { $prev = ''; continue }",
        "        $prev = $token",
        '        switch -CaseSensitive ("$path,$token") {',
        *transitions,
        "        }",
        "    }",
        "    $completions = @()",
        "    if ($valueOptions -contains \"$path,$prev\") {",
        '        $completions = @(switch -CaseSensitive ("$path,$prev") {',
        *value_cases,
        "        })",
        "    } else {",
        "        $completions = @(switch ($path) {",
        *lists,
        "        })",
        "    }",
        "    $completions.Where{ $_.CompletionText -like \"$wordToComplete*\" } |",
        "        Sort-Object -Property ListItemText",
        "}",
        "",
    ])
