"""Debug logging: the one place that configures `logging`, from one switch, into `$CODEX_HOME/log/codex.log`.

`CODEX_LOG` is the switch; `RUST_LOG`, which codex-rs reads, is the fallback when `CODEX_LOG` is unset. Both take
a RUST_LOG-style filter: comma-separated directives, each a level (`debug`: every logger's default) or
`target=level` (`codex_cli=debug,httpx=info`; `codex_cli::auth` means `codex_cli.auth`); a bare target enables
all of its levels. Levels: trace (= debug), debug, info, warn, error, off. Loggers no directive names keep
WARNING. Unset or empty: nothing is configured and no file is made.

Records are appended to the file (directory 0700, file 0600), never to the terminal: not into the line UI's
output, nor exec's stdout or stderr, nor the MCP server's stdio. Secrets are redacted from every formatted
line: bearer tokens, JWTs, `sk-` keys, key-like query parameters and header or JSON fields, and the values of
environment variables whose names say they hold a key, token, secret or password.

This module imports only `os` at its top: `logging` loads only when the switch is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["FALLBACK_SWITCH", "LOG_FILE_NAME", "LOG_SWITCH", "log_filter", "parse_filter", "start_logging"]

LOG_SWITCH = "CODEX_LOG"
FALLBACK_SWITCH = "RUST_LOG"
LOG_FILE_NAME = "codex.log"

_LEVELS = {"trace": 10, "debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40, "off": 60}
_SECRET_NAME_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")
_MIN_SECRET_LENGTH = 8  # shorter values ("1", "true") would redact ordinary words
REDACTED = "[REDACTED]"


def log_filter(env: Mapping[str, str]) -> str:
    """The filter the switch sets: `CODEX_LOG`, else `RUST_LOG`; "" when logging is off."""
    return env.get(LOG_SWITCH, "").strip() or env.get(FALLBACK_SWITCH, "").strip()


def parse_filter(spec: str) -> tuple[int | None, dict[str, int]]:
    """(the default level or None, {logger name: level}) of a RUST_LOG-style filter; directives it cannot read
    are skipped, as RUST_LOG skips them."""
    default: int | None = None
    targets: dict[str, int] = {}
    for directive in (part.strip() for part in spec.split(",")):
        target, has_level, level_word = directive.partition("=")
        target = target.strip().replace("::", ".")
        level = _LEVELS.get(level_word.strip().lower()) if has_level else None
        if not has_level and target.lower() in _LEVELS:
            default = _LEVELS[target.lower()]
        elif not has_level and target:
            targets[target] = _LEVELS["trace"]
        elif target and level is not None:
            targets[target] = level
    return default, targets


def start_logging(env: Mapping[str, str], codex_home: Path | None = None, *, command: str = "") -> Path | None:
    """Configure logging from the switch in `env` (once per process, by `cli.main`); the log file, or None when
    the switch is unset or the file cannot be opened (the command then runs without a log, as it would anyway).
    `codex_home`: where `log/` goes (default: `config.find_codex_home(env)`)."""
    spec = log_filter(env)
    if not spec:
        return None
    default, targets = parse_filter(spec)
    if default is None and not targets:
        return None
    try:
        if codex_home is None:
            from codex_cli.config import find_codex_home
            from codex_cli.errors import CodexError

            try:
                codex_home = find_codex_home(env)
            except CodexError:
                return None  # the command itself says what is wrong with CODEX_HOME
        path = codex_home / "log" / LOG_FILE_NAME
        stream = _open_private(path)
    except OSError:
        return None
    _install(stream, default, targets, _secret_values(env))
    import logging

    from codex_cli.version import BUILD_VARIANT, VERSION

    logging.getLogger("codex_cli").info("codex-cli %s (%s) started: %s, log filter %r", VERSION, BUILD_VARIANT,
                                        command or "a command", spec)
    return path


def _open_private(path: Path) -> TextIO:
    """`path` opened for appending, its directory created 0700 and the file 0600 (also when they existed wider:
    a log may name files and commands that only its owner should read)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    if os.name == "posix":
        os.chmod(path.parent, 0o700)
        os.fchmod(fd, 0o600)
    return open(fd, "a", encoding="utf-8", errors="backslashreplace", buffering=1)


def _secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    names = (name for name in env if any(word in name.upper() for word in _SECRET_NAME_WORDS))
    values = {env[name].strip() for name in names if len(env[name].strip()) >= _MIN_SECRET_LENGTH}
    return tuple(sorted(values, key=len, reverse=True))  # a longer secret first: it may contain a shorter one


def _install(stream: TextIO, default: int | None, targets: Mapping[str, int], secrets: tuple[str, ...]) -> None:
    import logging
    import re
    import time

    patterns = [
        (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {REDACTED}"),
        (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),  # JWTs
        (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
        # header tuples (httpcore: (b'authorization', b'...')), JSON fields and query parameters
        (re.compile(r"(?i)((?:authorization|api[-_]?key|x-api-key|cookie|(?:access|refresh|id)_token|token|secret"
                    r"|password|client_secret)['\"]?\s*[:=,]\s*b?['\"]?)([^'\"\s,&)}]+)"), rf"\1{REDACTED}"),
    ]

    class RedactingFormatter(logging.Formatter):
        converter = staticmethod(time.gmtime)
        default_time_format = "%Y-%m-%dT%H:%M:%S"
        default_msec_format = "%s.%03dZ"

        def format(self, record: logging.LogRecord) -> str:
            line = super().format(record)
            for secret in secrets:
                line = line.replace(secret, REDACTED)
            for pattern, replacement in patterns:
                line = pattern.sub(replacement, line)
            return line

    class QuietHandler(logging.StreamHandler):  # type: ignore[type-arg]
        def handleError(self, record: logging.LogRecord) -> None:
            """A full disk must not print a traceback onto the terminal: the record is dropped."""

    handler = QuietHandler(stream)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(process)d %(threadName)s] "
                                            "%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING if default is None else default)
    for name, level in targets.items():
        logging.getLogger(name).setLevel(level)
