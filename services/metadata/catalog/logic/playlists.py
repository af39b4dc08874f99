"""The URIs of an HLS playlist (RFC 8216) or a WebVTT thumbnails track, rewritten into links. Pure text.

Every URI in the stored files is relative to the file (`720p/index.m3u8`, `c00000.mp4`,
`sprite-000.jpg#xywh=0,0,160,90`). `resolve` turns one into a path of the package (relative to its
root) or refuses it; the rewriters hand each path to `link` and put back what it gives, keeping
everything else of the file as it was (tags, byte ranges, cue timings, a cue's `#xywh=` fragment).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

# Tags whose URI is an attribute (EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF, EXT-X-KEY, ...)
URI_ATTRIBUTE = re.compile(r'(?<![A-Z0-9-])URI="([^"]*)"')
SAFE_PATH = re.compile(r"^[A-Za-z0-9._/-]+$")
Link = Callable[[str], str]  # package path -> the URL a player fetches it by


class UnsafeUri(ValueError):
    """A URI that is not a plain relative path inside the package (a scheme, an absolute path, `..` out of it)."""


def package_path(path: str) -> str | None:
    """`path` if it is a plain relative path inside the package (no `..`, `.`, empty or absolute segment)."""
    if not path or len(path) > 1024 or not SAFE_PATH.fullmatch(path) or path.startswith("/"):
        return None
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        return None
    return path


def resolve(file_path: str, uri: str) -> str:
    """The package path of `uri` as it appears in the file at `file_path` (a package path)."""
    if not uri or uri.startswith("/") or ":" in uri or "?" in uri or "#" in uri or "\\" in uri:
        raise UnsafeUri(uri)
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(file_path), uri))
    resolved = package_path(joined)
    if resolved is None:
        raise UnsafeUri(uri)
    return resolved


def rewrite_playlist(text: str, file_path: str, link: Link) -> str:
    """An M3U8 playlist with every URI (URI lines and URI="..." attributes) replaced by `link` of its path."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            lines.append(line)
        elif stripped.startswith("#"):
            lines.append(URI_ATTRIBUTE.sub(lambda m: f'URI="{link(resolve(file_path, m.group(1)))}"', line))
        else:
            lines.append(link(resolve(file_path, stripped)))
    return "\n".join(lines) + "\n"


def rewrite_track(text: str, file_path: str, link: Link) -> str:
    """A WebVTT track with each cue's payload (an image URI, with its `#xywh=` fragment kept) linked."""
    lines, in_cue = [], False
    for line in text.splitlines():
        if not line.strip():
            in_cue = False
            lines.append(line)
        elif "-->" in line and not in_cue:
            in_cue = True
            lines.append(line)
        elif in_cue:
            uri, hash_mark, fragment = line.strip().partition("#")
            lines.append(link(resolve(file_path, uri)) + hash_mark + fragment)
        else:
            lines.append(line)  # the header, a cue identifier, NOTE/STYLE blocks
    return "\n".join(lines) + "\n"
