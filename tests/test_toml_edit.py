"""Round-trip-preserving config.toml edits: every byte outside the edited table stays as it was."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from codex_cli import toml_edit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from codex_cli.toml_edit import (
    TomlEditError,
    format_key,
    format_value,
    remove_table,
    render_table,
    scan,
    set_table,
    write_text_atomic,
)

ORIGINAL = """\
# My Codex settings — keep this comment!
model = "gpt-5.5"   # trailing comment
notify = [
  "python3",  # array comment with [brackets] and # hashes
  "/x/notify.py",
]

[mcp_servers.keep]
command = "keeper"
args = ["--flag"]   # keep me

[tui]
notifications = true
banner = '''
multi-line [mcp_servers.fake]
literal'''
"""

DOCS = render_table(("mcp_servers", "docs"), {"command": "npx", "args": ["-y", "srv"], "env": {"A": "1", "B": "2"}})


def test_render_table_writes_scalars_then_sub_tables() -> None:
    assert DOCS == (
        '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "srv"]\n\n[mcp_servers.docs.env]\nA = "1"\nB = "2"\n'
    )


def test_add_then_remove_restores_the_file_byte_for_byte() -> None:
    added = set_table(ORIGINAL, ("mcp_servers", "docs"), DOCS)
    assert added.startswith(ORIGINAL)
    assert tomllib.loads(added)["mcp_servers"]["docs"]["env"] == {"A": "1", "B": "2"}
    removed, found = remove_table(added, ("mcp_servers", "docs"))
    assert found and removed == ORIGINAL


def test_remove_keeps_other_tables_comments_and_multiline_values() -> None:
    removed, found = remove_table(ORIGINAL, ("mcp_servers", "keep"))
    assert found
    assert removed == ORIGINAL.replace('\n[mcp_servers.keep]\ncommand = "keeper"\nargs = ["--flag"]   # keep me\n', "")
    assert "mcp_servers" not in tomllib.loads(removed)


def test_remove_of_a_missing_table_changes_nothing() -> None:
    assert remove_table(ORIGINAL, ("mcp_servers", "nosuch")) == (ORIGINAL, False)


def test_replace_puts_the_new_table_where_the_old_one_was() -> None:
    new = render_table(("mcp_servers", "keep"), {"url": "https://example.com/mcp"})
    replaced = set_table(ORIGINAL, ("mcp_servers", "keep"), new)
    assert replaced == ORIGINAL.replace(
        '[mcp_servers.keep]\ncommand = "keeper"\nargs = ["--flag"]   # keep me\n',
        '[mcp_servers.keep]\nurl = "https://example.com/mcp"\n',
    )


def test_remove_takes_sub_tables_anywhere_and_dotted_keys_in_the_parent() -> None:
    text = (
        '[mcp_servers]\nx.command = "a"\nother = { command = "b" }\n\n'
        '[mcp_servers.y]\ncommand = "c"\n\n[unrelated]\nk = 1\n\n[mcp_servers.x.env]\nK = "V"\n'
    )
    removed, found = remove_table(text, ("mcp_servers", "x"))
    assert found
    assert (
        removed == '[mcp_servers]\nother = { command = "b" }\n\n[mcp_servers.y]\ncommand = "c"\n\n[unrelated]\nk = 1\n'
    )


def test_inline_server_tables_are_removed_as_one_statement() -> None:
    text = '[mcp_servers]\ndocs = { command = "npx", args = ["a"] }\nweb = { url = "u" }\n'
    assert remove_table(text, ("mcp_servers", "docs")) == ('[mcp_servers]\nweb = { url = "u" }\n', True)


def test_comments_after_the_last_key_stay_with_the_next_table() -> None:
    text = '[mcp_servers.a]\ncommand = "x"\n# inside a\nargs = []\n\n# about b\n[b]\nk = 1\n'
    assert remove_table(text, ("mcp_servers", "a")) == ("# about b\n[b]\nk = 1\n", True)


def test_quoted_server_names_are_written_and_found() -> None:
    assert format_key("bad.name") == '"bad.name"'
    assert format_key("ok-name_1") == "ok-name_1"
    block = render_table(("mcp_servers", "a/b"), {"command": "x"})
    added = set_table("", ("mcp_servers", "a/b"), block)
    assert added == '[mcp_servers."a/b"]\ncommand = "x"\n'
    assert remove_table(added, ("mcp_servers", "a/b")) == ("", True)


def test_multiline_basic_strings_with_escaped_quotes_are_skipped() -> None:
    text = 'a = """x \\""" still [inside]\n"""\n[mcp_servers.s]\ncommand = "c"\n'
    removed, _ = remove_table(text, ("mcp_servers", "s"))
    assert removed == 'a = """x \\""" still [inside]\n"""\n'


def test_crlf_files_keep_their_line_endings() -> None:
    text = 'model = "m"\r\n\r\n[mcp_servers.s]\r\ncommand = "c"\r\n\r\n[x]\r\nk = 1\r\n'
    removed, _ = remove_table(text, ("mcp_servers", "s"))
    assert removed == 'model = "m"\r\n\r\n[x]\r\nk = 1\r\n'


def test_a_server_inside_an_inline_top_level_table_is_refused() -> None:
    text = 'mcp_servers = { docs = { command = "x" } }\n'
    with pytest.raises(TomlEditError, match="inline"):
        remove_table(text, ("mcp_servers", "docs"))
    with pytest.raises(TomlEditError):
        set_table(text, ("mcp_servers", "web"), render_table(("mcp_servers", "web"), {"url": "u"}))


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(TomlEditError, match="not valid TOML"):
        set_table("model = \n", ("mcp_servers", "x"), "[mcp_servers.x]\n")


def test_file_without_final_newline_gets_one_before_the_new_table() -> None:
    assert set_table('model = "m"', ("t",), "[t]\nk = 1\n") == 'model = "m"\n\n[t]\nk = 1\n'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('quote " and \\ and \n tab\t', '"quote \\" and \\\\ and \\n tab\\t"'),
        ("ünïcode", '"ünïcode"'),
        ("\x01", '"\\u0001"'),
        (True, "true"),
        (20.0, "20.0"),
        (2.5, "2.5"),
        (7, "7"),
        (["a", 1], '["a", 1]'),
        ({"k": "v", "a b": 1}, '{ k = "v", "a b" = 1 }'),
    ],
)
def test_format_value_round_trips_through_tomllib(value: object, expected: str) -> None:
    assert format_value(value) == expected
    assert tomllib.loads(f"k = {expected}")["k"] == value


def test_scan_reports_paths_for_headers_and_keys() -> None:
    kinds = [(s.kind, s.path) for s in scan(ORIGINAL) if s.kind != "trivia"]
    assert kinds == [
        ("keyval", ("model",)),
        ("keyval", ("notify",)),
        ("table", ("mcp_servers", "keep")),
        ("keyval", ("mcp_servers", "keep", "command")),
        ("keyval", ("mcp_servers", "keep", "args")),
        ("table", ("tui",)),
        ("keyval", ("tui", "notifications")),
        ("keyval", ("tui", "banner")),
    ]
    assert "".join(ORIGINAL[s.start : s.end] for s in scan(ORIGINAL)) == ORIGINAL


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_write_text_atomic_creates_0600_and_keeps_an_existing_mode(tmp_path: Path) -> None:
    new = tmp_path / "config.toml"
    write_text_atomic(new, "a = 1\n")
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    os.chmod(new, 0o640)
    write_text_atomic(new, "a = 2\n")
    assert stat.S_IMODE(new.stat().st_mode) == 0o640
    assert new.read_text() == "a = 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


@pytest.mark.parametrize(
    ("before", "path", "value", "after"),
    [
        ("", ("model",), "o3", 'model = "o3"\n'),
        ('# top\nmodel = "a"  # mine\nx = 1\n\n[tui]\ny = 2\n', ("model",), "gpt-5.5",
         '# top\nmodel = "gpt-5.5"  # mine\nx = 1\n\n[tui]\ny = 2\n'),
        ('x = 1\n\n[tui]\ny = 2\n', ("model",), "o3", 'x = 1\nmodel = "o3"\n\n[tui]\ny = 2\n'),
        ('[tui]\ny = 2\n', ("model",), "o3", 'model = "o3"\n[tui]\ny = 2\n'),
        ('[profiles.w]\nmodel = "b"\n\n[profiles.w.sub]\nq = 1\n', ("profiles", "w", "model_reasoning_effort"), "low",
         '[profiles.w]\nmodel = "b"\nmodel_reasoning_effort = "low"\n\n[profiles.w.sub]\nq = 1\n'),
        ('model = "a"', ("profiles", "w", "model"), "b", 'model = "a"\n\n[profiles.w]\nmodel = "b"\n'),
        ('profiles.w.model = "a"\n', ("profiles", "w", "model"), "b", 'profiles.w.model = "b"\n'),
        ('x = [\n  1, # one\n  2,\n] # list\n', ("x",), [3], "x = [3] # list\n"),
    ],
)  # fmt: skip
def test_set_value_changes_one_key_and_keeps_every_other_byte(before: str, path: tuple[str, ...], value: object,
                                                               after: str) -> None:
    assert toml_edit.set_value(before, path, value) == after


def test_set_value_refuses_what_it_cannot_edit() -> None:
    with pytest.raises(toml_edit.TomlEditError):
        toml_edit.set_value("model = ", ("model",), "o3")  # not TOML
    with pytest.raises(toml_edit.TomlEditError):
        toml_edit.set_value('profiles = { w = { model = "a" } }\n', ("profiles", "w", "model"), "b")  # inline table
