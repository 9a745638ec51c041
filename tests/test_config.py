"""Unit tests of codex_cli.config: CODEX_HOME, layers, profiles, projects, -c, features, validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_cli.config import CliOverrides, Config, find_codex_home, load_config, parse_override
from codex_cli.errors import ConfigError, UsageError
from codex_cli.toml_positions import scan_key_spots


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path.resolve()


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    monkeypatch.chdir(path)
    return path.resolve()


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    return {"CODEX_HOME": str(home), "HOME": str(tmp_path / "userhome")}


@pytest.fixture
def load(env, work, tmp_path):
    def _load(*, cwd: Path | None = None, system: Path | None = None, **kwargs) -> Config:
        overrides = CliOverrides(cwd=cwd or work, **kwargs)
        return load_config(overrides, env, system_config=system or tmp_path / "no-system.toml")

    return _load


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_of(load, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load(**kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------------------------- CODEX_HOME


def test_codex_home_unset_defaults_to_home_dot_codex(tmp_path):
    assert find_codex_home({"HOME": str(tmp_path)}) == tmp_path / ".codex"


def test_codex_home_empty_behaves_like_unset(tmp_path):
    assert find_codex_home({"HOME": str(tmp_path), "CODEX_HOME": ""}) == tmp_path / ".codex"


def test_codex_home_explicit_existing_dir_is_used(home):
    assert find_codex_home({"CODEX_HOME": str(home)}) == home


def test_codex_home_relative_value_resolves_against_cwd(home, monkeypatch):
    monkeypatch.chdir(home.parent)
    assert find_codex_home({"CODEX_HOME": "home"}) == home


def test_codex_home_missing_dir_is_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        find_codex_home({"CODEX_HOME": str(tmp_path / "does-not-exist")})
    assert str(info.value).startswith(
        f'Error finding codex home: CODEX_HOME points to "{tmp_path / "does-not-exist"}", but that path does not exist'
    )


def test_codex_home_file_is_not_a_directory_error(tmp_path):
    write(tmp_path / "afile", "")
    with pytest.raises(ConfigError, match="but that path is not a directory"):
        find_codex_home({"CODEX_HOME": str(tmp_path / "afile")})


def test_load_config_missing_explicit_codex_home_fails(load, env, tmp_path):
    env["CODEX_HOME"] = str(tmp_path / "nonexistent")
    assert "does not exist" in error_of(load)


# ---------------------------------------------------------------------------------------------- defaults (T1)


def test_defaults_empty_home_match_reference(load, home, work):
    config = load()
    assert config.codex_home == home
    assert config.config_path == home / "config.toml"
    assert config.cwd == work
    assert config.model == "gpt-6.1-sol"
    assert config.model_provider_id == "openai"
    assert config.model_provider.requires_openai_auth
    assert config.model_provider.base_url is None
    assert config.approval_policy == "on-request"
    assert config.sandbox_mode == "read-only"
    assert config.model_reasoning_effort is None
    assert config.model_reasoning_summary is None
    assert config.project_doc_max_bytes == 32768
    assert config.project_doc_fallback_filenames == ()
    assert config.project_root_markers == (".git",)
    assert config.history_persistence == "save-all"
    assert config.web_search == "cached"
    assert config.update_plan_enabled is True
    assert config.notify is None
    assert config.profile is None
    assert config.warnings == ()
    policy = config.shell_environment_policy
    assert (policy.inherit, policy.ignore_default_excludes, policy.exclude, dict(policy.set)) == ("all", True, (), {})
    assert "hooks" in config.features and "memories" not in config.features


def test_builtin_providers_have_reference_urls(load):
    providers = load().model_providers
    assert providers["ollama"].base_url == "http://localhost:11434/v1"
    assert providers["lmstudio"].base_url == "http://localhost:1234/v1"
    assert providers["openai"].name == "OpenAI"


# ---------------------------------------------------------------------------------------------- syntax errors


def test_syntax_error_unclosed_array_reports_path_line_col_and_caret(load, home):
    cfg = write(home / "config.toml", 'model = "x"\nmodel_provider = [\n')
    assert error_of(load).split("\n") == [
        "Error loading config.toml:",
        f"{cfg}:2:19: invalid value",
        "  |",
        "2 | model_provider = [",
        "  |                   ^",
        "Fix the TOML syntax at line 2 of " + str(cfg) + ".",
    ]


def test_syntax_error_bare_word_value_points_at_value(load, home):
    cfg = write(home / "config.toml", "model = abc\n")
    message = error_of(load)
    assert f"{cfg}:1:9:" in message
    assert "1 | model = abc\n  |         ^" in message


def test_syntax_error_duplicate_table_names_file(load, home):
    cfg = write(home / "config.toml", "[tui]\nanimations = true\n[tui]\n")
    assert f"{cfg}:3:" in error_of(load)


def test_syntax_error_crlf_file_reports_line_and_col(load, home):
    cfg = write(home / "config.toml", 'model = "x"\r\nmodel = "y"\r\n')
    assert f"{cfg}:2:" in error_of(load)


def test_config_path_that_is_a_directory_is_config_error(load, home):
    (home / "config.toml").mkdir()
    assert f"cannot read {home / 'config.toml'}" in error_of(load)


# ---------------------------------------------------------------------------------------------- type and enum errors


def test_enum_error_sandbox_mode_names_file_line_key_and_allowed_values(load, home):
    cfg = write(home / "config.toml", 'model = "m"\nsandbox_mode = "sometimes"\n')
    message = error_of(load)
    assert message.startswith(f"Error loading config.toml: {cfg}:2:16: unknown variant `sometimes`")
    assert "expected one of `read-only`, `workspace-write`, `danger-full-access` in `sandbox_mode`" in message
    assert "Change `sandbox_mode` to one of" in message and str(cfg) in message


def test_type_error_approval_policy_integer_lists_allowed_values(load, home):
    cfg = write(home / "config.toml", "approval_policy = 5\n")
    message = error_of(load)
    assert f"{cfg}:1:19: invalid type: integer `5`" in message
    assert "`untrusted`, `on-failure`, `on-request`, `never` in `approval_policy`" in message


def test_type_error_model_integer_expected_string(load, home):
    cfg = write(home / "config.toml", "model = 5\n")
    assert f"{cfg}:1:9: invalid type: integer `5`, expected a string in `model`" in error_of(load)


def test_type_error_nested_table_points_at_value_line(load, home):
    cfg = write(home / "config.toml", '# c\n[sandbox_workspace_write]\nnetwork_access = "yes"\n')
    message = error_of(load)
    assert f'{cfg}:3:18: invalid type: string "yes", expected a boolean' in message
    assert "in `sandbox_workspace_write.network_access`" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[history]\npersistence = "never"\n', "unknown variant `never`, expected `save-all` or `none`"),
        ("project_doc_max_bytes = -1\n", "invalid value: integer `-1`, expected a non-negative integer"),
        ('model_reasoning_summary = "verbose"\n', "expected one of `auto`, `concise`, `detailed`, `none`"),
        ('model_verbosity = "loud"\n', "expected one of `low`, `medium`, `high`"),
        ('web_search = "sometimes"\n', "expected one of `disabled`, `cached`, `indexed`, `live`"),
        ('notify = "echo hi"\n', 'invalid type: string "echo hi", expected an array of strings in `notify`'),
        ('[shell_environment_policy]\ninherit = "some"\n', "expected one of `core`, `all`, `none`"),
        ('[features]\nhooks = "yes"\n', "in `features.hooks`"),
        ("[model_providers.x]\nname = 'x'\nwire_api = 'grpc'\n", "expected `responses` or `chat`"),
        ("notify = ['a', 5]\n", "integer `5`, expected a string in `notify[1]`"),
    ],
    ids=["history", "usize", "summary", "verbosity", "web_search", "notify", "inherit", "feature", "wire", "item"],
)
def test_type_error_reference_vectors_have_location_and_message(load, home, text, expected):
    cfg = write(home / "config.toml", text)
    message = error_of(load)
    assert f"{cfg}:" in message and expected in message


def test_type_error_inside_inline_table_points_at_inner_value(load, home):
    cfg = write(home / "config.toml", "[model_providers.x]\nname = 'x'\nquery_params = { a = 1 }\n")
    assert f"{cfg}:3:22: invalid type: integer `1`, expected a string in `model_providers.x.query_params.a`" in (
        error_of(load)
    )


def test_type_error_from_c_override_names_the_override(load):
    message = error_of(load, config_overrides=("model=true",))
    assert "-c/--config override `model=true`: invalid type: boolean `true`, expected a string in `model`" in message


def test_type_error_is_checked_after_merge_later_table_breaks_scalar(load):
    assert "invalid type: map, expected a string in `model`" in error_of(
        load, config_overrides=("model=x", "model.sub=1")
    )


def test_merge_later_scalar_replaces_table_is_fine(load):
    assert load(config_overrides=("model.sub=1", "model=x")).model == "x"


# ---------------------------------------------------------------------------------------------- unknown keys (T6)


def test_unknown_key_lenient_warns_with_layer_label(load, home):
    cfg = write(home / "config.toml", 'model = "m"\nbogus_top_key = 1\n')
    assert load().warnings == (
        "Codex is ignoring 1 unrecognized configuration setting. Check for typos or deprecated settings.\n"
        f"  user ({cfg}): `bogus_top_key` is ignored.",
    )


def test_every_mcp_server_key_of_the_reference_is_known(load, home):
    """mcp.md §2.2's table: none of its keys is reported as unrecognized (the canonical example of §3 included)."""
    write(home / "config.toml", """
[mcp_servers.s]
command = "c"
args = ["x"]
env_vars = ["A"]
cwd = "/x"
enabled = false
environment_id = "e"
required = true
startup_readiness = "catalog"
supports_parallel_tool_calls = true
tool_input_schema_max_bytes = 100
omit_tools_from = ["direct"]
startup_timeout_sec = 6.0
tool_timeout_sec = 5.0
default_tools_approval_mode = "prompt"
enabled_tools = ["a"]
disabled_tools = ["b"]
name = "s"
[mcp_servers.s.env]
K = "v"
[mcp_servers.s.tools.a]
approval_mode = "auto"

[mcp_servers.h]
url = "https://example.com/mcp"
bearer_token_env_var = "T"
http_headers_helper = "helper"
scopes = ["read"]
oauth_resource = "https://example.com"
auth = "oauth"
startup_timeout_ms = 2500
[mcp_servers.h.http_headers]
X = "1"
[mcp_servers.h.env_http_headers]
Y = "ENV_Y"
[mcp_servers.h.oauth]
client_id = "id"
""")
    assert load(strict_config=True).warnings == ()


def test_unknown_key_strict_is_error_with_snippet(load, home):
    cfg = write(home / "config.toml", 'model_provider = "openai"\nbogus_top_key = 1\n')
    with pytest.raises(ConfigError) as info:
        load(strict_config=True)
    assert info.value.message == (
        f"Error loading config.toml:\n{cfg}:2:1: unknown configuration field `bogus_top_key`\n"
        "  |\n2 | bogus_top_key = 1\n  | ^^^^^^^^^^^^^"
    )


def test_unknown_keys_many_show_three_sorted_lines_and_a_summary(load, home):
    write(home / "config.toml", "zz = 1\naa = 1\n[history]\nbaz = 1\n[features]\nbogus_feature = true\n")
    (block,) = load(config_overrides=("bogus=1",)).warnings
    lines = block.split("\n")
    assert lines[0].startswith("Codex is ignoring 5 unrecognized configuration settings.")
    assert [line.split(": ", 1)[1] for line in lines[1:4]] == [
        "`aa` is ignored.",
        "`bogus` is ignored.",
        "`features.bogus_feature` is ignored.",
    ]
    assert lines[2] == "  session-flags: `bogus` is ignored."
    assert lines[4] == "  ... and 2 more ignored settings."


def test_unknown_key_strict_nested_points_at_nested_key(load, home):
    cfg = write(home / "config.toml", '[model_providers.x]\nname = "x"\n  foo = 1\n')
    message = error_of(load, strict_config=True)
    assert f"{cfg}:3:3: unknown configuration field `model_providers.x.foo`\n  |\n3 |   foo = 1\n  |   ^^^" in message


def test_unknown_key_strict_in_c_override_names_the_override(load):
    message = error_of(load, strict_config=True, config_overrides=("features.bogus=true",))
    assert message == (
        "Error loading config.toml: unknown configuration field `features.bogus` in "
        "-c/--config override `features.bogus=true`\nRemove the setting or fix its name "
        "(without --strict-config it is only a warning)."
    )


def test_known_keys_of_this_build_do_not_warn(load, home, tmp_path):
    write(home / "instr.md", "I")
    write(
        home / "config.toml",
        "experimental_instructions_file = 'instr.md'\n"
        "[model_providers.c]\nname = 'c'\nwire_api = 'chat'\n[mcp_servers.s]\ncommand = 'x'\n"
        "[tools]\nweb_search = true\nupdate_plan = { enabled = true }\n",
    )
    config = load(strict_config=True)
    assert config.base_instructions == "I"
    assert config.model_providers["c"].wire_api == "chat"


def test_keys_codex_rs_ignores_are_ignored_with_its_warning(load, home):
    """codex-rs 0.169 reads neither (its warning names them); neither changes anything here either."""
    cfg = write(home / "config.toml", "model_supports_reasoning_summaries = true\n[tools]\nview_image = false\n")
    (block,) = load().warnings
    assert block == (
        "Codex is ignoring 2 unrecognized configuration settings. Check for typos or deprecated settings.\n"
        f"  user ({cfg}): `model_supports_reasoning_summaries` is ignored.\n"
        f"  user ({cfg}): `tools.view_image` is ignored."
    )
    assert "unknown configuration field `model_supports_reasoning_summaries`" in error_of(load, strict_config=True)


# ---------------------------------------------------------------------------------------------- -c parsing (T10)


@pytest.mark.parametrize(
    ("raw", "path", "value"),
    [
        ("model=o3", ["model"], "o3"),
        ('model="o3"', ["model"], "o3"),
        ("model='o3'", ["model"], "o3"),
        (' model = "o3" ', ["model"], "o3"),
        ("model=a=b", ["model"], "a=b"),
        ("model=", ["model"], ""),
        ("model=o3 mini", ["model"], "o3 mini"),
        ('model="unterminated', ["model"], "unterminated"),
        ("model='o3", ["model"], "o3"),
        ("model=o3'", ["model"], "o3"),
        ('model="x"y', ["model"], 'x"y'),
        ('model="a b" c', ["model"], 'a b" c'),
        ("model=true", ["model"], True),
        ("model=5", ["model"], 5),
        ("model=[1,2]", ["model"], [1, 2]),
        ("model={a=1}", ["model"], {"a": 1}),
        (
            'shell_environment_policy.include_only=["PATH","HOME"]',
            ["shell_environment_policy", "include_only"],
            ["PATH", "HOME"],
        ),
        ('projects."/tmp/x".trust_level="trusted"', ["projects", '"/tmp/x"', "trust_level"], "trusted"),
    ],
)
def test_parse_override_reference_table_gives_expected_value(raw, path, value):
    assert parse_override(raw) == (path, value)


def test_parse_override_missing_equals_is_usage_error():
    with pytest.raises(UsageError, match=r"Invalid override \(missing '='\): model"):
        parse_override("model")


def test_parse_override_empty_key_is_usage_error():
    with pytest.raises(UsageError, match="Empty key in override: =o3"):
        parse_override("=o3")


def test_c_override_later_same_key_wins(load):
    assert load(config_overrides=("model=a", "model=b")).model == "b"


def test_c_override_inline_table_defines_provider(load):
    raw = 'model_providers.mock={name="m", base_url="http://127.0.0.1:9/v1", env_key="K"}'
    config = load(config_overrides=(raw, "model_provider=mock"))
    assert (config.model_provider.name, config.model_provider.base_url) == ("m", "http://127.0.0.1:9/v1")


# ---------------------------------------------------------------------------------------------- merging (T11)


def test_merge_arrays_replace_and_tables_merge(load, home):
    write(
        home / "config.toml",
        'project_doc_fallback_filenames = ["A.md","B.md"]\n[shell_environment_policy]\ninherit="core"\nset={X="1"}\n',
    )
    config = load(config_overrides=('project_doc_fallback_filenames=["C.md"]', 'shell_environment_policy.set={Y="2"}'))
    assert config.project_doc_fallback_filenames == ("C.md",)
    assert dict(config.shell_environment_policy.set) == {"X": "1", "Y": "2"}
    assert config.shell_environment_policy.inherit == "core"


def test_merge_c_table_value_merges_into_user_provider(load, home):
    write(home / "config.toml", "[model_providers.mock]\nname='mock'\nbase_url='http://u/v1'\n")
    config = load(config_overrides=('model_providers.mock={name="renamed"}', "model_provider=mock"))
    assert (config.model_provider.name, config.model_provider.base_url) == ("renamed", "http://u/v1")


def test_system_layer_is_below_user(load, home, tmp_path):
    system = write(tmp_path / "system.toml", 'model = "sys"\nmodel_verbosity = "high"\nsysbogus = 1\n')
    write(home / "config.toml", 'model = "user"\n')
    config = load(system=system)
    assert (config.model, config.model_verbosity) == ("user", "high")
    assert f"system ({system}): `sysbogus` is ignored." in config.warnings[0]


def test_raw_keeps_tables_owned_by_other_modules(load, home):
    write(home / "config.toml", "[mcp_servers.x]\ncommand = 'a'\n[tui]\nanimations = false\n")
    raw = load().raw
    assert raw["mcp_servers"] == {"x": {"command": "a"}}
    assert raw["tui"] == {"animations": False}


# ---------------------------------------------------------------------------------------------- profiles (T7, T8)


@pytest.fixture
def profiles_home(home: Path) -> Path:
    write(home / "config.toml", 'model = "base-model"\nmodel_reasoning_effort = "low"\n')
    write(home / "fast.config.toml", 'model = "profile-model"\n')
    return home


def test_profile_file_overrides_user_config(load, profiles_home):
    config = load(profile="fast")
    assert (config.model, config.model_reasoning_effort, config.profile) == ("profile-model", "low", "fast")


def test_profile_file_missing_uses_base_config(load, profiles_home):
    assert load(profile="missing").model == "base-model"


def test_profile_c_override_beats_profile_and_flag_beats_both(load, profiles_home):
    assert load(profile="fast", config_overrides=("model=cli-model",)).model == "cli-model"
    assert load(profile="fast", model="flag-model", config_overrides=("model=cli-model",)).model == "flag-model"


@pytest.mark.parametrize("name", ["a/b", "a.b", "", "a b", ".x", "é", "a~b", "a@b"])
def test_profile_flag_invalid_name_is_usage_error(load, name):
    with pytest.raises(UsageError, match="pass a plain name such as `work`"):
        load(profile=name)


def test_profile_legacy_table_selected_by_key(load, home):
    write(home / "config.toml", 'profile = "fast"\nmodel = "base"\n[profiles.fast]\nmodel = "legacy-profile-model"\n')
    config = load()
    assert (config.model, config.profile) == ("legacy-profile-model", "fast")


def test_profile_legacy_table_selected_by_flag(load, home):
    write(home / "config.toml", 'model = "base"\n[profiles.fast]\nmodel = "legacy"\nsandbox_mode = "workspace-write"\n')
    config = load(profile="fast")
    assert (config.model, config.sandbox_mode) == ("legacy", "workspace-write")


def test_profile_legacy_table_without_selector_is_ignored(load, home):
    write(home / "config.toml", 'model = "base-model"\n[profiles.fast]\nmodel = "legacy"\n')
    assert load().model == "base-model"


def test_profile_selector_via_c_override(load, home):
    write(home / "config.toml", '[profiles.fast]\nmodel = "legacy"\n')
    assert load(config_overrides=("profile=fast",)).model == "legacy"


def test_profile_table_and_file_with_same_name_conflict(load, profiles_home):
    cfg = profiles_home / "config.toml"
    cfg.write_text(cfg.read_text() + '[profiles.fast]\nmodel = "legacy"\n')
    message = error_of(load, profile="fast")
    assert f"--profile `fast` cannot be used while {cfg}:3:11 contains legacy" in message
    assert f"move those settings into {profiles_home / 'fast.config.toml'}" in message
    assert "config-advanced#profiles" in message


def test_profile_selector_with_nothing_to_load_is_error(load, home):
    cfg = write(home / "config.toml", 'profile = "nope"\n')
    message = error_of(load)
    assert f"{cfg}:1:11: config profile `nope` not found" in message


def test_profile_legacy_table_is_type_checked_even_when_unused(load, home):
    cfg = write(home / "config.toml", "[profiles.x]\nmodel = 5\n")
    assert f"{cfg}:2:9: invalid type: integer `5`, expected a string in `profiles.x.model`" in error_of(load)


def test_profile_legacy_table_type_error_when_selected_points_at_table(load, home):
    cfg = write(home / "config.toml", '[profiles.x]\nsandbox_mode = "bogus"\n')
    assert f"{cfg}:2:16: unknown variant `bogus`" in error_of(load, profile="x")


def test_profile_legacy_table_unknown_key_warns_once(load, home):
    write(home / "config.toml", "[profiles.x]\nbogus = 1\n")
    (block,) = load(profile="x").warnings
    assert "ignoring 1 unrecognized" in block and "`profiles.x.bogus` is ignored." in block


def test_profile_file_syntax_error_names_profile_file(load, home):
    bad = write(home / "bad.config.toml", "x = [1,\n")
    assert f"{bad}:1:8:" in error_of(load, profile="bad")


def test_profile_file_strict_unknown_key_names_profile_file(load, home):
    prof = write(home / "p.config.toml", 'model = "m"\nprofile = "other"\n')
    message = error_of(load, profile="p", strict_config=True)
    assert f"{prof}:2:1: unknown configuration field `profile`" in message


# ---------------------------------------------------------------------------------------------- projects (T9)


@pytest.fixture
def project(tmp_path: Path, home: Path) -> Path:
    repo = tmp_path / "proj"
    (repo / ".git").mkdir(parents=True)
    write(
        repo / ".codex" / "config.toml",
        'model = "project-model"\nmodel_reasoning_effort = "high"\nmodel_provider = "evil"\nnotify = ["x"]\n',
    )
    write(repo / "sub" / ".codex" / "config.toml", 'model = "subdir-model"\n')
    write(home / "config.toml", 'model = "user-model"\n')
    return repo.resolve()


def trust(home: Path, repo: Path, level: str) -> None:
    with (home / "config.toml").open("a") as fh:
        fh.write(f'[projects."{repo}"]\ntrust_level = "{level}"\n')


def test_project_without_trust_entry_is_disabled_with_warning(load, project):
    config = load(cwd=project)
    assert (config.model, config.sandbox_mode, config.project_trust) == ("user-model", "read-only", None)
    assert config.project_root == project
    assert config.warnings[0].startswith("Untrusted project-local configuration is disabled")
    assert f'[projects."{project}"]' in config.warnings[0]


def test_project_explicitly_untrusted_stays_disabled_and_read_only(load, project, home):
    trust(home, project, "untrusted")
    config = load(cwd=project)
    assert (config.model, config.sandbox_mode, config.project_trust) == ("user-model", "read-only", "untrusted")


def test_project_trusted_is_merged_with_denylist_stripped(load, project, home):
    trust(home, project, "trusted")
    config = load(cwd=project)
    assert (config.model, config.model_reasoning_effort, config.model_provider_id) == (
        "project-model",
        "high",
        "openai",
    )
    assert config.notify is None
    assert config.warnings == (
        f"Ignored unsupported project-local config keys in {project / '.codex' / 'config.toml'}: "
        "model_provider, notify. If you want these settings to apply, manually set them in your user-level "
        "config.toml.",
    )


def test_project_trusted_subdir_closest_wins(load, project, home):
    trust(home, project, "trusted")
    config = load(cwd=project / "sub")
    assert (config.model, config.model_reasoning_effort) == ("subdir-model", "high")


def test_project_trust_matches_git_root_from_subdir_and_c_beats_project(load, project, home):
    trust(home, project, "trusted")
    assert load(cwd=project / "sub", config_overrides=("model=cli-model",)).model == "cli-model"


def test_project_relative_paths_resolve_against_dot_codex(load, project, home):
    trust(home, project, "trusted")
    write(project / "sub" / ".codex" / "config.toml", "[sandbox_workspace_write]\nwritable_roots = ['out']\n")
    config = load(cwd=project / "sub")
    assert config.sandbox_workspace_write.writable_roots == (project / "sub" / ".codex" / "out",)


def test_project_untrusted_syntax_error_is_ignored(load, project):
    write(project / ".codex" / "config.toml", "model = [\n")
    assert load(cwd=project).model == "user-model"


def test_project_trusted_syntax_error_names_project_file(load, project, home):
    trust(home, project, "trusted")
    bad = write(project / ".codex" / "config.toml", "model = [\n")
    assert f"{bad}:1:10:" in error_of(load, cwd=project)


def test_project_trusted_unknown_key_strict_names_project_file(load, project, home):
    trust(home, project, "trusted")
    bad = write(project / ".codex" / "config.toml", "\nnope = 1\n")
    assert f"{bad}:2:1: unknown configuration field `nope`" in error_of(load, cwd=project, strict_config=True)


def test_project_trust_level_unknown_variant_has_location(load, home, project):
    cfg = home / "config.toml"
    cfg.write_text(f'[projects."{project}"]\ntrust_level = "maybe"\n')
    assert f"{cfg}:2:15: unknown variant `maybe`, expected `trusted` or `untrusted`" in error_of(load, cwd=project)


def test_project_root_markers_custom_marker_sets_root(load, home, tmp_path):
    root = tmp_path / "mk"
    write(root / ".marker", "")
    (root / "a").mkdir()
    write(home / "config.toml", 'project_root_markers = [".marker"]\n')
    config = load(cwd=root / "a")
    assert (config.project_root, config.project_root_markers) == (root.resolve(), (".marker",))


def test_project_root_markers_wrong_type_has_location(load, home):
    cfg = write(home / "config.toml", 'project_root_markers = "x"\n')
    assert f'{cfg}:1:24: invalid type: string "x", expected an array of strings' in error_of(load)


def test_project_dot_codex_that_is_codex_home_is_skipped(load, tmp_path, env):
    repo = tmp_path / "r"
    (repo / ".git").mkdir(parents=True)
    write(repo / ".codex" / "config.toml", 'model = "home-model"\n')
    env["CODEX_HOME"] = str(repo / ".codex")
    config = load(cwd=repo)
    assert (config.model, config.warnings) == ("home-model", ())


# ---------------------------------------------------------------------------------------------- paths and instructions


def test_relative_paths_in_user_config_resolve_against_codex_home(load, home, env):
    write(home / "config.toml", '[sandbox_workspace_write]\nwritable_roots = ["rel/dir", "~/tilde", "/abs"]\n')
    roots = load().sandbox_workspace_write.writable_roots
    assert roots == (home / "rel" / "dir", Path(env["HOME"]) / "tilde", Path("/abs"))


def test_model_instructions_file_relative_to_codex_home(load, home):
    write(home / "instr_rel.md", "BASE")
    write(home / "config.toml", 'model_instructions_file = "instr_rel.md"\n')
    assert load().base_instructions == "BASE"


def test_model_instructions_file_from_c_resolves_against_cwd(load, work):
    write(work / "rel_instr.md", "FROM-CWD")
    assert load(config_overrides=("model_instructions_file=rel_instr.md",)).base_instructions == "FROM-CWD"


def test_model_instructions_file_missing_is_error_with_location(load, home):
    cfg = write(home / "config.toml", 'model_instructions_file = "instr_rel.md"\n')
    message = error_of(load)
    assert f"{cfg}:1:27: failed to read model instructions file {home / 'instr_rel.md'}" in message


def test_instructions_keys_set_base_and_developer_text(load, home):
    write(home / "config.toml", 'instructions = "INSTR-KEY-VALUE"\ndeveloper_instructions = "DEV-INSTR-VALUE"\n')
    config = load()
    assert (config.base_instructions, config.developer_instructions) == ("INSTR-KEY-VALUE", "DEV-INSTR-VALUE")


def test_user_instructions_prefer_non_blank_override(load, home):
    write(home / "AGENTS.md", "  G  \n\n")
    assert load().user_instructions == "G"
    write(home / "AGENTS.override.md", "  \n")
    assert load().user_instructions == "G"
    write(home / "AGENTS.override.md", "O\n")
    assert load().user_instructions == "O"


def test_add_dirs_relative_resolve_against_cwd(load, work):
    assert load(add_dirs=(Path("x"), Path("/abs"))).add_dirs == (work / "x", Path("/abs"))


# ---------------------------------------------------------------------------------------------- approvals, sandbox


@pytest.mark.parametrize("policy", ["untrusted", "on-failure", "on-request", "never"])
def test_approval_policy_all_four_values_accepted(load, home, policy):
    write(home / "config.toml", f'approval_policy = "{policy}"\n')
    assert load().approval_policy == policy


def test_approval_flag_beats_config_and_bad_flag_is_usage_error(load, home):
    write(home / "config.toml", 'approval_policy = "never"\n')
    assert load(approval_policy="untrusted").approval_policy == "untrusted"
    with pytest.raises(UsageError, match="possible|Possible"):
        load(approval_policy="sometimes")


def test_sandbox_flag_beats_c_override(load):
    config = load(sandbox_mode="read-only", config_overrides=("sandbox_mode=danger-full-access",))
    assert config.sandbox_mode == "read-only"
    with pytest.raises(UsageError):
        load(sandbox_mode="bogus")


def test_bypass_flag_means_danger_full_access_and_never(load):
    config = load(bypass_approvals_and_sandbox=True, sandbox_mode="read-only")
    assert (config.sandbox_mode, config.approval_policy, config.web_search) == ("danger-full-access", "never", "live")


def test_sandbox_workspace_write_table_is_read(load, home, tmp_path):
    write(
        home / "config.toml",
        f'sandbox_mode = "workspace-write"\n[sandbox_workspace_write]\nwritable_roots = ["{tmp_path}/extra"]\n'
        "network_access = true\nexclude_tmpdir_env_var = true\nexclude_slash_tmp = true\n",
    )
    config = load()
    sww = config.sandbox_workspace_write
    assert config.sandbox_mode == "workspace-write"
    assert (sww.writable_roots, sww.network_access, sww.exclude_tmpdir_env_var, sww.exclude_slash_tmp) == (
        (tmp_path / "extra",),
        True,
        True,
        True,
    )


# ---------------------------------------------------------------------------------------------- providers (T12)


def test_custom_provider_fields_are_read(load, home):
    write(
        home / "config.toml",
        'model_provider = "p1"\n[model_providers.p1]\nname = "Provider One"\nbase_url = "http://127.0.0.1:1/custom/v9"\n'
        'env_key = "P1_KEY"\nenv_key_instructions = "Get a key"\n'
        'query_params = { api-version = "2025-01-01", foo = "bar baz" }\nhttp_headers = { "X-Static" = "static-val" }\n'
        'env_http_headers = { "X-From-Env" = "P1_HDR" }\nrequest_max_retries = 0\nstream_max_retries = 500\n'
        "stream_idle_timeout_ms = 1500\n",
    )
    p = load().model_provider
    assert (p.id, p.name, p.base_url, p.env_key, p.env_key_instructions) == (
        "p1",
        "Provider One",
        "http://127.0.0.1:1/custom/v9",
        "P1_KEY",
        "Get a key",
    )
    assert dict(p.query_params) == {"api-version": "2025-01-01", "foo": "bar baz"}
    assert (dict(p.http_headers), dict(p.env_http_headers)) == ({"X-Static": "static-val"}, {"X-From-Env": "P1_HDR"})
    assert (p.request_max_retries, p.stream_max_retries, p.stream_idle_timeout_ms) == (0, 100, 1500)
    assert (p.wire_api, p.requires_openai_auth) == ("responses", False)


def test_custom_provider_defaults(load):
    p = load(config_overrides=('model_providers.x={name="x"}', "model_provider=x")).model_provider
    assert (p.base_url, p.request_max_retries, p.stream_max_retries, p.stream_idle_timeout_ms) == (
        "https://api.openai.com/v1",
        4,
        5,
        300000,
    )


def test_provider_reserved_id_is_error(load, home):
    cfg = write(home / "config.toml", '[model_providers.openai]\nname = "x"\n')
    message = error_of(load)
    assert f"{cfg}:1:18: model_providers contains reserved built-in provider IDs: `openai`" in message


def test_provider_without_name_is_error(load, home):
    write(home / "config.toml", '[model_providers.x]\nbase_url = "http://a"\n')
    assert "model_providers.x: provider name must not be empty" in error_of(load)


def test_provider_auth_with_env_key_is_error(load, home):
    write(home / "config.toml", '[model_providers.x]\nname = "x"\nenv_key = "K"\nauth = { command = "echo" }\n')
    assert "provider auth cannot be combined with env_key" in error_of(load)


def test_provider_auth_command_is_read(load):
    raw = 'model_providers.x={name="x", auth={command="echo", args=["tok"]}}'
    assert load(config_overrides=(raw, "model_provider=x")).model_provider.auth_command == ("echo", "tok")


def test_model_provider_unknown_is_error_listing_known(load, home):
    cfg = write(home / "config.toml", 'model_provider = "nope"\n')
    message = error_of(load)
    assert f"{cfg}:1:18: Model provider `nope` not found" in message and "`lmstudio`, `ollama`, `openai`" in message


def test_openai_base_url_key_applies_and_env_var_is_ignored(load, env):
    env["OPENAI_BASE_URL"] = "http://ignored/v1"
    assert load().model_provider.base_url is None
    assert load(config_overrides=("openai_base_url=http://x/v1",)).model_provider.base_url == "http://x/v1"


def test_oss_defaults_to_ollama_and_its_model(load, env):
    config = load(oss=True)
    assert (config.model_provider_id, config.model) == ("ollama", "gpt-oss:20b")
    env["CODEX_OSS_PORT"] = "9999"
    assert load(oss=True, model_provider="lmstudio").model_provider.base_url == "http://localhost:9999/v1"
    assert load(oss=True, model_provider="lmstudio").model == "openai/gpt-oss-20b"


def test_oss_provider_key_is_used_by_oss_flag(load, home):
    write(home / "config.toml", 'oss_provider = "lmstudio"\n')
    assert load(oss=True).model_provider_id == "lmstudio"


def test_model_provider_ollama_chat_is_error_with_fix(load, home):
    cfg = write(home / "config.toml", 'model_provider = "ollama-chat"\n')
    message = error_of(load)
    assert f"{cfg}:1:18: `ollama-chat` is no longer supported" in message and "with `ollama`" in message


def test_model_provider_unknown_from_flag_has_no_file_location(load, home):
    write(home / "config.toml", 'model_provider = "openai"\n')
    assert error_of(load, model_provider="nope").startswith(
        "Error loading config.toml: Model provider `nope` not found."
    )


# ---------------------------------------------------------------------------------------------- features (T13)


def test_implemented_features_are_those_the_code_reads():
    """`codex features list` shows IMPLEMENTED_FEATURES with their state: exactly the names some module tests."""
    import re

    from codex_cli.features import FEATURES, IMPLEMENTED_FEATURES

    root = Path(__file__).resolve().parents[1]
    source = "".join(p.read_text(encoding="utf-8") for p in root.glob("codex_cli/**/*.py"))
    read = set(re.findall(r'"(\w+)" (?:not )?in [\w.]*features\b', source))
    assert read == IMPLEMENTED_FEATURES and IMPLEMENTED_FEATURES <= set(FEATURES)


def test_features_disable_beats_enable_regardless_of_order(load):
    assert "memories" not in load(enable=("memories",), disable=("memories",)).features


def test_features_enable_applies_after_c_overrides(load):
    assert "memories" in load(config_overrides=("features.memories=false",), enable=("memories",)).features


def test_features_c_override_disables_default_feature(load):
    assert "shell_tool" not in load(config_overrides=("features.shell_tool=false",)).features
    assert "hooks" not in load(config_overrides=("features.codex_hooks=false",)).features


def test_features_unknown_flag_is_usage_error(load):
    with pytest.raises(UsageError, match="Unknown feature flag: bogus_feat"):
        load(enable=("bogus_feat",))


def test_features_legacy_alias_applies_with_deprecation_notice(load, home):
    write(home / "config.toml", "[features]\ncodex_hooks = false\n")
    config = load()
    assert "hooks" not in config.features
    assert config.warnings[0].startswith("`[features].codex_hooks` is deprecated. Use `[features].hooks` instead.\n")


def test_features_web_search_request_is_deprecated_noop(load, home):
    write(home / "config.toml", "[features]\nweb_search_request = false\n")
    config = load()
    assert config.web_search == "cached"
    assert "web search is enabled by default" in config.warnings[0]


def test_features_enable_accepts_legacy_alias(load):
    assert "multi_agent" not in load(disable=("collab",)).features


def test_features_removed_default_off_stays_off(load):
    assert "apply_patch_freeform" not in load(enable=("apply_patch_freeform",)).features


def test_features_table_form_is_accepted(load):
    assert "multi_agent_v2" in load(config_overrides=("features.multi_agent_v2={enabled=true}",)).features


# ---------------------------------------------------------------------------------------------- tools, misc keys


def test_update_plan_enabled_by_default_and_key_turns_it_off(load, home):
    write(home / "config.toml", "[tools.update_plan]\nenabled = false\n")
    assert load().update_plan_enabled is False


def test_update_plan_plain_boolean_is_type_error(load):
    assert "in `tools.update_plan`" in error_of(load, config_overrides=("tools.update_plan=true",))


@pytest.mark.parametrize(
    ("overrides", "mode"),
    [
        (("web_search=live",), "live"),
        (("web_search=disabled", "sandbox_mode=danger-full-access"), "disabled"),
        (("tools.web_search=false",), "disabled"),
        (("tools.web_search=true",), "live"),
        (("sandbox_mode=danger-full-access",), "live"),
    ],
)
def test_web_search_mode_resolution(load, overrides, mode):
    assert load(config_overrides=overrides).web_search == mode


def test_reasoning_keys_from_t2_are_read(load, home):
    write(
        home / "config.toml",
        'model = "gpt-5-codex"\nmodel_reasoning_effort = "minimal"\nmodel_reasoning_summary = "concise"\n'
        'model_verbosity = "medium"\n',
    )
    c = load()
    assert (c.model, c.model_reasoning_effort, c.model_reasoning_summary, c.model_verbosity) == (
        "gpt-5-codex",
        "minimal",
        "concise",
        "medium",
    )


def test_misc_scalar_keys_are_read(load, home):
    write(
        home / "config.toml",
        'notify = ["notify-send", "x"]\nhide_agent_reasoning = true\nshow_raw_agent_reasoning = true\n'
        "model_context_window = 123456\nmodel_auto_compact_token_limit = 1000\nproject_doc_max_bytes = 0\n"
        'review_model = "r"\nmodel_reasoning_effort = "extreme"\n[history]\npersistence = "none"\nmax_bytes = 10\n',
    )
    c = load()
    assert c.notify == ("notify-send", "x")
    assert (c.hide_agent_reasoning, c.show_raw_agent_reasoning) == (True, True)
    assert (c.model_context_window, c.model_auto_compact_token_limit, c.project_doc_max_bytes) == (123456, 1000, 0)
    assert (c.review_model, c.model_reasoning_effort) == ("r", "extreme")
    assert (c.history_persistence, c.history_max_bytes) == ("none", 10)


def test_config_is_frozen(load):
    config = load()
    with pytest.raises(AttributeError):
        config.model = "x"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------- key positions


def test_scan_key_spots_handles_arrays_of_tables_and_dotted_keys():
    text = '[[hooks.Stop]]\na = 1\n[[hooks.Stop]]\nb.c = \'x\' # comment\n[hooks.Stop.sub]\nd = """\nmulti\n"""\n'
    spots = scan_key_spots(text)
    assert (spots[("hooks", "Stop", 0, "a")].line, spots[("hooks", "Stop", 1, "b", "c")].col) == (2, 3)
    assert spots[("hooks", "Stop", 1, "sub", "d")].line == 6


def test_policy_vocabularies_are_declared_once_in_protocol():
    from typing import get_args

    from codex_cli import cli_parser, config_keys, protocol

    assert protocol.SANDBOX_MODES == get_args(protocol.SandboxMode)
    assert protocol.APPROVAL_POLICIES == get_args(protocol.AskForApproval)
    # The argument parser spells them out (`--help` does not load protocol); the values and their order stay equal.
    assert cli_parser.SANDBOX_MODES == protocol.SANDBOX_MODES
    assert cli_parser.APPROVAL_POLICIES == protocol.APPROVAL_POLICIES
    schema = config_keys.TOP_SCHEMA.fields
    assert schema["sandbox_mode"] == config_keys.Choice(protocol.SANDBOX_MODES)
    assert schema["approval_policy"] == config_keys.Choice(protocol.APPROVAL_POLICIES)
