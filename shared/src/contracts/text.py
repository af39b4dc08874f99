"""Text that people read (a display name, a file name that becomes a video's title): what it shows is what it says.

Control and format characters are refused, not removed: they break lines (U+0085, U+2028), reorder what follows
(U+202E, the right-to-left override that makes "gpj.exe" read "exe.jpg") or hide (U+200B), and a name that looks
like another's is worse than a refusal that says which character to take out. One exception: the zero-width
joiner (U+200D) between two pictographs, which is how a family or a profession is written in emoji (👩‍💻), so a
file named with one can still be uploaded; anywhere else it is refused like the rest.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# control, format, line and paragraph separators; a lone surrogate cannot be stored as UTF-8
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
ZERO_WIDTH_JOINER = "\u200d"
EMOJI_PRESENTATION = "\ufe0f"  # the variation selector that may sit between a pictograph and the joiner


def _joins_emoji(text: str, at: int) -> bool:
    """Whether the joiner at `at` sits between two pictographs (skin tones and U+FE0F may end the first)."""
    before, after = text[at - 1 : at], text[at + 1 : at + 2]
    return (
        at > 0
        and (before == EMOJI_PRESENTATION or unicodedata.category(before) in ("So", "Sk"))
        and after != ""
        and unicodedata.category(after) == "So"
    )


def refuse_invisible(text: str, *, line_breaks: bool = False) -> str:
    """The text as it is, or a refusal naming its first control or format character (a line feed is allowed in
    text of several lines, `line_breaks`)."""
    for at, character in enumerate(text):
        if character == ZERO_WIDTH_JOINER and _joins_emoji(text, at):
            continue
        if character == "\n" and line_breaks:
            continue
        if unicodedata.category(character) in REFUSED_CATEGORIES:
            name = unicodedata.name(character, "")
            raise PydanticCustomError(
                "invisible_character",
                "{character} is not allowed (no control or format characters)",
                {"character": f"U+{ord(character):04X}" + (f" ({name})" if name else "")},
            )
    return text


DisplayText = Annotated[
    str,
    AfterValidator(refuse_invisible),
    Field(description="Text people read: no control or format characters (Unicode Cc, Cf, Zl, Zp)."),
]
# A description: lines of DisplayText (line feeds only, no other control or format character)
ParagraphText = Annotated[
    str,
    AfterValidator(lambda text: refuse_invisible(text, line_breaks=True)),
    Field(description="Text people read, in lines: no control or format characters but the line feed (U+000A)."),
]
