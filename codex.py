#!/usr/bin/env python3
"""Entry point: `python codex.py ...`, the zipapp and the frozen binary all start here."""

from __future__ import annotations

import os
import sys


def main() -> int:
    from codex_cli import launcher

    # One binary, two personalities: invoked as `apply_patch` (through the Linux binary's launcher, by its name),
    # it is the patch tool.
    name = os.path.basename(launcher.adopt() or sys.argv[0]).lower()
    if name in ("apply_patch", "apply_patch.exe", "applypatch"):
        from codex_cli import patch_cli

        return patch_cli.main(sys.argv[1:])
    from codex_cli.cli import main as cli_main

    return cli_main()  # None: the process's own arguments (and its exit, see cli.main)


if __name__ == "__main__":
    sys.exit(main())
