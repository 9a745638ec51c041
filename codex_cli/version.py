"""The single source of this package's version and build variant."""

from __future__ import annotations

__all__ = ["BUILD_VARIANT", "VERSION"]

VERSION = "0.1.0"
# Stamped into the packaged copy by the build scripts (source, pip, zipapp, pyinstaller).
BUILD_VARIANT = "source"
