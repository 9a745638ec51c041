"""`python -m codex_cli`: the same program as the `codex` command (how codex re-runs itself from a checkout)."""

import sys

from codex_cli.cli import main

sys.exit(main())
