"""`codex features list | enable | disable`: the feature-flag registry and its effective state (config.md §8).

`list` prints the features this implementation has (`features.IMPLEMENTED_FEATURES`) sorted by name as
`f"{name:<40} {stage:<18} {true|false}"` (codex-rs's columns), the state in effect after config.toml, `-c` and
`--enable/--disable`; then, apart, the names of codex-rs 0.169's other features, which are accepted for
compatibility and do nothing here (codex-rs lists them all, many as on). `enable`/`disable` set
`[features].NAME` in `$CODEX_HOME/config.toml` through `toml_edit` (the rest of the file is kept), accept the
deprecated aliases, and say on stderr when the feature does nothing here. The registry itself lives in
`features`. `register()` adds the commands to the `codex` parser; `main()` is their handler.
"""

from __future__ import annotations

import argparse
import sys

from codex_cli.errors import CodexError

__all__ = ["feature_lines", "main", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `features` and its subcommands to the `codex` parser."""
    from codex_cli.cli_parser import add_override_options

    raw = argparse.RawDescriptionHelpFormatter
    parser = subparsers.add_parser(
        "features",
        help="list feature flags, or turn one on or off in config.toml",
        description="Inspect feature flags.\n\nexample: codex features list --enable view_image",
        formatter_class=raw,
    )
    commands = parser.add_subparsers(dest="features_command", metavar="COMMAND", required=True)
    listing = commands.add_parser(
        "list",
        help="print the features this CLI has with their state, and the other names apart",
        description="Print the features this implementation has, their stage and whether each is on; then, apart, the "
        "codex-rs features it accepts but does not have.\n\nexample: codex features list",
        formatter_class=raw,
    )
    add_override_options(listing)
    listing.add_argument("-p", "--profile", help="use a configuration profile from config.toml")
    for name, verb in (("enable", "on"), ("disable", "off")):
        command = commands.add_parser(
            name,
            help=f"turn a feature {verb} in $CODEX_HOME/config.toml",
            description=f"Turn a feature {verb} in $CODEX_HOME/config.toml.\n\nexample: codex features {name} hooks",
            formatter_class=raw,
        )
        command.add_argument("feature", metavar="FEATURE", help="the feature name (see `codex features list`)")
    parser.set_defaults(handler="codex_cli.features_cli:main")


UNSUPPORTED_HEADING = (
    "Not supported here (accepted in config.toml, --enable and --disable for compatibility with codex-rs; no effect):"
)


def feature_lines(enabled: frozenset[str]) -> list[str]:
    """The `features list` lines for the given set of enabled features: the implemented ones with their state, a
    blank line, then the other names under `UNSUPPORTED_HEADING` (never with a state: none of them is on here)."""
    import textwrap

    from codex_cli.features import FEATURES, IMPLEMENTED_FEATURES

    lines = [f"{name:<40} {spec.stage:<18} {'true' if name in enabled else 'false'}"
             for name, spec in FEATURES.items() if name in IMPLEMENTED_FEATURES]
    others = ", ".join(name for name in FEATURES if name not in IMPLEMENTED_FEATURES)
    return [*lines, "", UNSUPPORTED_HEADING, *textwrap.wrap(others, width=100, initial_indent="  ",
                                                            subsequent_indent="  ", break_on_hyphens=False)]


def main(args: argparse.Namespace) -> int:
    """Run `codex features ...`; returns the exit code."""
    if args.features_command == "list":
        from codex_cli.config import CliOverrides, load_config

        overrides = CliOverrides(
            config_overrides=tuple(getattr(args, "config", None) or ()),
            enable=tuple(getattr(args, "enable", None) or ()),
            disable=tuple(getattr(args, "disable", None) or ()),
            profile=getattr(args, "profile", None),
        )
        sys.stdout.write("".join(line + "\n" for line in feature_lines(load_config(overrides).features)))
        return 0
    from codex_cli.features import IMPLEMENTED_FEATURES

    enable = args.features_command == "enable"
    name = _set_feature(args.feature, enable)
    sys.stdout.write(f"{'Enabled' if enable else 'Disabled'} feature `{name}` in config.toml.\n")
    if name not in IMPLEMENTED_FEATURES:
        sys.stderr.write(f"Note: `{name}` is not supported here: it has no effect in this implementation.\n")
    return 0


def _set_feature(raw_name: str, enabled: bool) -> str:
    """Write `[features].NAME = enabled` to `$CODEX_HOME/config.toml`; returns the canonical name."""
    from codex_cli import toml_edit
    from codex_cli.config import find_codex_home
    from codex_cli.features import FEATURE_ALIASES, FEATURES
    from codex_cli.toml_doc import parse_toml

    name = FEATURE_ALIASES.get(raw_name, raw_name)
    if name not in FEATURES:
        raise CodexError(f"Unknown feature flag: {raw_name}", "Run `codex features list` to see the known names.")
    path = find_codex_home() / "config.toml"
    try:
        text = toml_edit.read_text(path)
        features = parse_toml(text).get("features")
        table = dict(features) if isinstance(features, dict) else {}
        table.pop(raw_name, None)  # an alias is replaced by the name it stands for
        table[name] = enabled
        new_text = toml_edit.set_table(text, ("features",), toml_edit.render_table(("features",), table))
        toml_edit.write_text_atomic(path, new_text)
    except (OSError, ValueError, toml_edit.TomlEditError) as exc:
        raise CodexError(f"Could not update {path}: {exc}", "Fix config.toml by hand, then try again.") from exc
    return name
