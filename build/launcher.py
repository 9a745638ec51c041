"""The Linux binary: a POSIX sh launcher followed by PyInstaller's one-folder build as a gzip-compressed tar.

PyInstaller's onefile binary unpacked ~21 MB into $TMPDIR on every start (~95-150 ms of a `--version` here), and
did not start at all where $TMPDIR is mounted noexec (hardened servers, many CI images: "libz.so.1: failed to map
segment", exit 127). This file is still one file, but its first run unpacks the program once into a folder of the
user's own and every later run `exec`s it from there (~40 ms):

    $CODEX_RUNTIME_DIR                              when set
    ${XDG_CACHE_HOME:-$HOME/.cache}/codex-py        the usual place, kept between runs
    then, when that is not writable or is mounted noexec, codex-py-<uid> in $TMPDIR, /var/tmp, /dev/shm and
    the folder holding this file, in that order

Each version unpacks into `codex-py-<version>-<hash of the archive>`, made under a temporary name and renamed when
complete (a half-unpacked folder is never run; concurrent first runs keep one copy). A folder is used only when it
is a real directory owned by the user and a probe script in it can be executed. `CODEX_LAUNCHER` tells the
program the launcher's path (`codex update` names it; its name chooses the `apply_patch` personality; see
codex_cli/launcher.py).

    python build/launcher.py ONEDIR OUTPUT --version V    # what spec/codex.spec runs after COLLECT
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import stat
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["STUB", "archive", "main", "pack", "stub"]

_FIXED_MTIME = 315532800  # 1980-01-01: no build date in the archive, so one tree gives one file
_STUB_SIZE = 4096  # the launcher is padded to this size, so the archive's offset is a constant in it
STUB = r"""#!/bin/sh
# codex-py @VERSION@ for Linux: this launcher, then the program as a gzip-compressed tar (build/launcher.py).
# The first run unpacks the program into a folder of your own; later runs start it from there directly.
# Where: $CODEX_RUNTIME_DIR, else ${XDG_CACHE_HOME:-~/.cache}/codex-py; when that is not writable or is mounted
# noexec, codex-py-<uid> in $TMPDIR, /var/tmp, /dev/shm, then beside this file. Remove those folders at will.
n=codex-py-@VERSION@-@HASH@
export CODEX_LAUNCHER="$0"
c="${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/codex-py"
for d in ${CODEX_RUNTIME_DIR:+"$CODEX_RUNTIME_DIR"} "$c"; do
  if [ -x "$d/$n/codex" ]; then exec "$d/$n/codex" "$@"; fi
done
u=$(id -u)
h=$(dirname -- "$0")
for d in ${CODEX_RUNTIME_DIR:+"$CODEX_RUNTIME_DIR"} "$c" "${TMPDIR:-/tmp}/codex-py-$u" "/var/tmp/codex-py-$u" \
    "/dev/shm/codex-py-$u" "$h/.codex-py-$u"; do
  if [ -x "$d/$n/codex" ]; then exec "$d/$n/codex" "$@"; fi
  (umask 077 && mkdir -p "$d") 2>/dev/null
  # Only a real folder of this user: in a shared /tmp another user could have made it first.
  if [ ! -d "$d" ] || [ -L "$d" ] || [ ! -O "$d" ] || [ ! -w "$d" ]; then continue; fi
  w=$(mktemp -d "$d/.unpack.XXXXXX" 2>/dev/null) || continue
  if tail -c +@OFFSET@ "$0" | tar -xzf - -C "$w" 2>/dev/null && printf '#!/bin/sh\n' >"$w/.probe" &&
      chmod 700 "$w/.probe" && "$w/.probe" 2>/dev/null; then
    rm -f "$w/.probe"
    chmod 755 "$w"
    [ -e "$d/$n" ] || mv "$w" "$d/$n" 2>/dev/null
    rm -rf "$w" "$d/$n/${w##*/}"
    if [ -x "$d/$n/codex" ]; then exec "$d/$n/codex" "$@"; fi
  fi
  rm -rf "$w"
done
echo "codex: cannot unpack itself: no folder tried is writable and allows running programs (not mounted noexec)." >&2
echo "Set CODEX_RUNTIME_DIR to such a folder of yours (it is unpacked there once, ~20 MB)." >&2
exit 127
"""


def archive(onedir: Path) -> bytes:
    """The one-folder build as a gzip-compressed tar: sorted, owner root, fixed times, so the same files give
    the same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(onedir.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(onedir).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = _FIXED_MTIME
            if info.isfile():
                executable = path.stat().st_mode & stat.S_IXUSR
                info.mode = 0o755 if executable else 0o644
                with path.open("rb") as data:
                    tar.addfile(info, data)
            else:
                info.mode = 0o755 if info.isdir() else info.mode
                tar.addfile(info)
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def stub(version: str, digest: str) -> bytes:
    """The launcher for an archive whose sha256 is `digest`, padded to `_STUB_SIZE` bytes."""
    text = STUB.replace("@VERSION@", version).replace("@HASH@", digest[:16])
    text = text.replace("@OFFSET@", str(_STUB_SIZE + 1))  # tail -c +N counts from 1
    data = text.encode("ascii")
    if len(data) + 1 > _STUB_SIZE:
        raise SystemExit(f"the launcher is {len(data)} bytes, more than {_STUB_SIZE - 1}")
    # Padding after `exit`: the shell never reads it; a comment line keeps it plain text for a person's eyes.
    return data + b"#" * (_STUB_SIZE - len(data) - 1) + b"\n"


def pack(onedir: Path, output: Path, version: str) -> Path:
    """Write the launcher and the archive of `onedir` to `output` (mode 0755); return `output`."""
    if not (onedir / "codex").is_file():
        raise SystemExit(f"{onedir} holds no `codex` program")
    data = archive(onedir)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_bytes(stub(version, hashlib.sha256(data).hexdigest()) + data)
    temporary.chmod(0o755)
    os.replace(temporary, output)
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="launcher.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("onedir", type=Path, help="PyInstaller's one-folder build (holding `codex`)")
    parser.add_argument("output", type=Path, help="the binary to write")
    parser.add_argument("--version", required=True, help="the program's version, part of the folder's name")
    args = parser.parse_args(argv)
    path = pack(args.onedir, args.output, args.version)
    print(f"packed {args.onedir} into {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
