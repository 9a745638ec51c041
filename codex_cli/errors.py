"""The error tree: every failure a person may see, each with a message written for them.

    CodexError (message, hint, exit_code = 1)
    ├── UsageError            bad flags or arguments (exit 2)
    ├── ConfigError           config.toml or -c problems, names file:line:col
    ├── AuthError             no or bad credentials (hint: codex login)
    ├── NetworkError          transport failures after retries
    │   └── TLSError          certificate problems; names the CA bundle in effect
    ├── ApiError              the provider answered with an error (status, retryable)
    │   ├── ContextWindowExceeded
    │   └── UsageLimitReached
    ├── SandboxError          a command cannot be confined as the policy asks
    └── McpError              an MCP server failed

Only `cli.main()` catches `CodexError`; `report()` prints the message and the hint, and it exits with `exit_code`.
"""

from __future__ import annotations

from typing import TextIO

__all__ = [
    "ApiError",
    "AuthError",
    "CodexError",
    "ConfigError",
    "ContextWindowExceeded",
    "McpError",
    "NetworkError",
    "SandboxError",
    "TLSError",
    "UsageError",
    "UsageLimitReached",
    "report",
]


class CodexError(Exception):
    """A failure explained for a person: what happened and, in `hint`, what to do next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


def report(exc: CodexError, stream: TextIO) -> int:
    """Print `exc` for a person on `stream` (`Error: ` once before the message, the hint on the next line) and
    return its exit code: how every command that ends on a CodexError says so."""
    prefix = "" if exc.message.startswith("Error") else "Error: "
    stream.write(f"{prefix}{exc.message}\n")
    if exc.hint:
        stream.write(f"{exc.hint}\n")
    return exc.exit_code


class UsageError(CodexError):
    """Raised for invalid command-line arguments."""

    exit_code = 2


class ConfigError(CodexError):
    """Raised when config.toml, a profile or a -c override is invalid."""


class AuthError(CodexError):
    """Raised when no usable credentials exist or the provider rejects them."""


class NetworkError(CodexError):
    """Raised when the provider cannot be reached (after the retries that make sense)."""


class TLSError(NetworkError):
    """Raised when a TLS handshake or certificate check fails; never retried."""


class ApiError(CodexError):
    """Raised when the provider answers with an error status or a failed response."""

    def __init__(
        self, message: str, hint: str | None = None, *, status: int | None = None, retryable: bool = False
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.retryable = retryable


class ContextWindowExceeded(ApiError):
    """Raised when the conversation no longer fits the model's context window."""


class UsageLimitReached(ApiError):
    """Raised when the account's usage limit or quota is used up."""


class SandboxError(CodexError):
    """Raised when a command cannot be run under the requested sandbox policy."""


class McpError(CodexError):
    """Raised when an MCP server fails to start or answer."""
