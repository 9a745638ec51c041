"""Tests for codex_cli.images: type sniffing, size limit, data URLs and the `-i` message layout."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import pytest

from codex_cli.images import (
    MAX_IMAGE_BYTES,
    ImageError,
    image_content_item,
    load_image,
    sniff_mime_type,
    user_message_with_images,
)


def png_bytes() -> bytes:
    """A real 1×1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"GIF89a......", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"hello world\n", None),
        (b"", None),
    ],
    ids=["png", "jpeg", "gif", "webp", "text", "empty"],
)
def test_sniff_mime_type_reads_magic_bytes(head: bytes, mime: str | None) -> None:
    assert sniff_mime_type(head) == mime


def test_load_image_png_becomes_data_url(tmp_path: Path) -> None:
    (tmp_path / "red.png").write_bytes(png_bytes())
    image = load_image("red.png", cwd=tmp_path)
    assert image.path == (tmp_path / "red.png").resolve() and image.mime_type == "image/png"
    item = image_content_item(image)
    assert item["detail"] == "original"
    url = str(item["image_url"])
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",", 1)[1]) == png_bytes()


def test_load_image_type_comes_from_content_not_name(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(png_bytes())
    assert load_image(tmp_path / "photo.jpg").mime_type == "image/png"


def test_load_image_text_renamed_png_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "notes.png")
    assert "is not a supported image" in info.value.message and "PNG, JPEG, GIF or WebP" in info.value.message
    assert "(the name says .png)" in info.value.message


def test_load_image_over_the_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with open(big, "wb") as file:
        file.write(png_bytes())
        file.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper
    with pytest.raises(ImageError) as info:
        load_image(big)
    limit = f"the limit is {MAX_IMAGE_BYTES // (1024 * 1024)}.0 MB"
    assert "too large (50.0 MB)" in info.value.message and limit in info.value.message


def test_load_image_directory_and_unreadable_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="is a directory"):
        load_image(tmp_path)
    with pytest.raises(ImageError, match="Cannot read the image"):
        load_image(tmp_path / "missing.png")


def test_user_message_with_images_layout_and_missing_note(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes())
    message = user_message_with_images("describe", ["a.png", "gone.png"], cwd=tmp_path)
    assert message["role"] == "user" and str(message["id"]).startswith("msg_")
    parts = message["content"]
    assert isinstance(parts, list)
    assert [p["type"] for p in parts] == ["input_text", "input_image", "input_text", "input_text", "input_text"]
    assert parts[0]["text"] == f'<image name=[Image #1] path="{(tmp_path / "a.png").resolve()}">'
    assert parts[2]["text"] == "</image>"
    assert parts[3]["text"] == (
        f"Codex could not read the local image at `{tmp_path / 'gone.png'}`: No such file or directory (os error 2)"
    )
    assert parts[4]["text"] == "describe"
