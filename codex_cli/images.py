"""Local images for the model: reading, checking (size, real type) and encoding as `input_image` data URLs.

Used by `-i/--image` (exec and the line UI) and by the `view_image` tool. The type comes from the file's
first bytes, not its name, so a text file renamed `.png` is refused; PNG, JPEG, GIF and WebP are accepted
(what the Responses API takes). Files over `MAX_IMAGE_BYTES` are refused before they are read whole.
Attached images follow exec.md §2.2: `<image name=[Image #N] path="...">`, the image, `</image>`, then the
prompt text; a missing file becomes a note to the model, as in 0.169. `view_image` output is
`[{"type":"input_image","image_url":…,"detail":"original"}]` (wire.md §5.4).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path

from codex_cli.errors import CodexError
from codex_cli.protocol import uuid7
from codex_cli.records import Record

__all__ = [
    "MAX_IMAGE_BYTES",
    "ImageError",
    "LocalImage",
    "image_content_item",
    "load_image",
    "sniff_mime_type",
    "split_image_args",
    "user_message_with_images",
]

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # the Responses API's per-image limit
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_SUPPORTED = "PNG, JPEG, GIF or WebP"


class ImageError(CodexError):
    """An image that cannot be sent: too large, not an image we support, or unreadable."""


class LocalImage(Record):
    """A checked image: its absolute path, its real MIME type and its bytes."""

    path: Path
    mime_type: str
    data: bytes

    @property
    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def sniff_mime_type(head: bytes) -> str | None:
    """The image type the first bytes announce, or None."""
    for signature, mime in _SIGNATURES:
        if head.startswith(signature):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def load_image(path: str | os.PathLike[str], *, cwd: Path | None = None) -> LocalImage:
    """Read and check one image; `path` is relative to `cwd` (default: the process's). Raise ImageError."""
    target = Path(path).expanduser()
    if not target.is_absolute():
        target = (cwd or Path.cwd()) / target
    try:
        with open(target, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > MAX_IMAGE_BYTES:
                raise ImageError(
                    f"The image {target} is too large ({_megabytes(size)}); the limit is "
                    f"{_megabytes(MAX_IMAGE_BYTES)}.",
                    "Resize or compress it and attach it again.",
                )
            data = file.read(MAX_IMAGE_BYTES + 1)
    except IsADirectoryError:
        raise ImageError(f"Cannot attach {target}: it is a directory, not an image.") from None
    except OSError as exc:
        raise ImageError(f"Cannot read the image {target}: {exc.strerror or exc}.") from exc
    mime = sniff_mime_type(data[:16])
    if mime is None:
        raise ImageError(
            f"The file {target} is not a supported image: its content is not {_SUPPORTED}"
            f"{' (the name says ' + target.suffix + ')' if target.suffix else ''}.",
            f"Attach a {_SUPPORTED} file.",
        )
    return LocalImage(target.resolve(), mime, data)


def image_content_item(image: LocalImage) -> dict[str, object]:
    """The `input_image` content item for an image (user messages and `view_image` output)."""
    return {"type": "input_image", "image_url": image.data_url, "detail": "original"}


def split_image_args(values: Sequence[str] | None) -> list[str]:
    """The paths of repeated and comma-separated `-i/--image` values (`-i a.png -i b.png,c.png`)."""
    return [path for raw in values or () for path in raw.split(",") if path]


def user_message_with_images(prompt: str, paths: Sequence[str], *, cwd: Path | None = None) -> dict[str, object]:
    """The user message for a prompt with attached images (exec.md §2.2). Missing files become a note to the
    model; a file that is too large or not an image raises ImageError before anything is sent."""
    content: list[dict[str, object]] = []
    for number, raw in enumerate(paths, start=1):
        target = Path(raw).expanduser()
        target = target if target.is_absolute() else (cwd or Path.cwd()) / target
        if not target.exists():
            note = f"Codex could not read the local image at `{target}`: No such file or directory (os error 2)"
            content.append({"type": "input_text", "text": note})
            continue
        image = load_image(target)
        content.append({"type": "input_text", "text": f'<image name=[Image #{number}] path="{image.path}">'})
        content.append(image_content_item(image))
        content.append({"type": "input_text", "text": "</image>"})
    content.append({"type": "input_text", "text": prompt})
    return {"type": "message", "id": f"msg_{uuid7()}", "role": "user", "content": content}


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
