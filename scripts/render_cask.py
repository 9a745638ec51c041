#!/usr/bin/env python3
"""Fill build/homebrew/codex-py.rb.template from a release's SHA256SUMS.

    python scripts/render_cask.py --sums SHA256SUMS --repository OWNER/NAME [--version V] [-o codex-py.rb]

SHA256SUMS is `sha256sum` output (`<hex>  <file>`, a `*` before the name allowed). The four cask
targets (macOS and Linux, arm64 and x86_64) are looked up by the names build/assets.py gives
them; a missing one, a malformed hash or a placeholder left over is an error (exit 1). The
version defaults to codex_cli/version.py. Prints the cask, or writes it with -o.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "build"))

from assets import asset_name, package_version  # noqa: E402

TEMPLATE = ROOT / "build" / "homebrew" / "codex-py.rb.template"
TARGETS = (("macos", "arm64"), ("macos", "x86_64"), ("linux", "arm64"), ("linux", "x86_64"))
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def read_sums(text: str) -> dict[str, str]:
    """File name -> lower-case sha256, from sha256sum output."""
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line.rstrip("\r"))
        if match is None:
            raise ValueError(f"SHA256SUMS line {number} is not `<sha256>  <file>`: {line!r}")
        sums[match.group(2).strip()] = match.group(1).lower()
    return sums


def render_cask(sums: dict[str, str], version: str, repository: str, template: str) -> str:
    """The cask text; raise ValueError naming what is missing."""
    if not _REPOSITORY.match(repository):
        raise ValueError(f"repository must be OWNER/NAME, not {repository!r}")
    values = {"VERSION": version, "REPOSITORY": repository}
    missing = []
    for os_name, arch in TARGETS:
        name = asset_name(version, os_name, arch)
        if name not in sums:
            missing.append(name)
        values[f"SHA256_{os_name.upper()}_{arch.upper()}"] = sums.get(name, "")
    if missing:
        raise ValueError(f"SHA256SUMS has no line for {', '.join(missing)}")
    text = re.sub(r"@([A-Z0-9_]+)@", lambda m: values.get(m.group(1), m.group(0)), template)
    left = re.findall(r"@[A-Z0-9_]+@", text)
    if left:
        raise ValueError(f"the template has placeholders this script does not know: {', '.join(sorted(set(left)))}")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="render_cask.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sums", type=Path, required=True, help="the release's SHA256SUMS file")
    parser.add_argument("--repository", required=True, help="OWNER/NAME of the GitHub repository with the release")
    parser.add_argument("--version", default=None, help="default: codex_cli/version.py")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="default: build/homebrew/codex-py.rb.template")
    parser.add_argument("-o", "--output", type=Path, help="write the cask here instead of stdout")
    args = parser.parse_args(argv)
    try:
        text = render_cask(
            read_sums(args.sums.read_text(encoding="utf-8")),
            (args.version or package_version()).removeprefix("v"),
            args.repository,
            args.template.read_text(encoding="utf-8"),
        )
    except (OSError, ValueError) as exc:
        print(f"render_cask.py: {exc}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
