"""A terminal screen captured with `tmux capture-pane -e`, as styled cells, and drawn as an SVG for the
README.

Only the escape sequences tmux writes are understood: SGR reset, bold, reverse video, default colours and
24-bit colours (Neovim runs with 'termguicolors' in the capture), which is all the capture of a Neovim screen
holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html import escape

RGB = tuple[int, int, int]
_SGR = re.compile(r"\x1b\[([0-9;]*)m")


@dataclass(frozen=True)
class Style:
    fg: RGB | None = None  # None: the terminal's default colour
    bg: RGB | None = None
    bold: bool = False
    reverse: bool = False


@dataclass(frozen=True)
class Run:
    """Consecutive characters of one line drawn in one style, starting at ``column``."""

    column: int
    text: str
    style: Style


def _apply(style: Style, codes: list[int]) -> Style:
    """The style after one SGR sequence."""
    index = 0
    while index < len(codes):
        code = codes[index]
        if code == 0:
            style = Style()
        elif code == 1:
            style = replace(style, bold=True)
        elif code == 22:
            style = replace(style, bold=False)
        elif code == 7:
            style = replace(style, reverse=True)
        elif code == 27:
            style = replace(style, reverse=False)
        elif code == 39:
            style = replace(style, fg=None)
        elif code == 49:
            style = replace(style, bg=None)
        elif code in (38, 48) and codes[index + 1 : index + 2] == [2]:
            rgb = (codes[index + 2], codes[index + 3], codes[index + 4])
            style = replace(style, fg=rgb) if code == 38 else replace(style, bg=rgb)
            index += 4
        index += 1
    return style


def parse(capture: str) -> list[list[Run]]:
    """The lines of a capture as styled runs."""
    lines: list[list[Run]] = []
    style = Style()
    for raw in capture.split("\n"):
        runs: list[Run] = []
        column = 0
        for index, part in enumerate(_SGR.split(raw)):
            if index % 2:
                style = _apply(style, [int(code or 0) for code in part.split(";")])
            elif part:
                runs.append(Run(column, part, style))
                column += len(part)
        lines.append(runs)
    return lines


def plain(lines: list[list[Run]]) -> list[str]:
    """The text of each line, without styles."""
    return ["".join(run.text for run in runs) for runs in lines]


def to_svg(lines: list[list[Run]], *, width: int, fg: RGB, bg: RGB, title: str) -> str:
    """An SVG drawing of the screen, ``width`` columns wide, in the given default colours."""
    cell_w, cell_h, font = 8.4, 18, 14

    def colour(rgb: RGB) -> str:
        red, green, blue = rgb
        return f"#{red:02x}{green:02x}{blue:02x}"

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * cell_w + 24:.0f}" '
            f'height="{len(lines) * cell_h + 24}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
            f'font-size="{font}" xml:space="preserve">'
        ),
        f"<title>{escape(title)}</title>",
        f'<rect width="100%" height="100%" rx="6" fill="{colour(bg)}"/>',
    ]
    for row, runs in enumerate(lines):
        y = 12 + row * cell_h
        for run in runs:
            ink, paper = run.style.fg or fg, run.style.bg or bg
            if run.style.reverse:
                ink, paper = paper, ink
            x = 12 + run.column * cell_w
            if paper != bg:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{len(run.text) * cell_w:.1f}" height="{cell_h}" '
                    f'fill="{colour(paper)}"/>'
                )
            if run.text.strip():
                weight = ' font-weight="bold"' if run.style.bold else ""
                parts.append(
                    f'<text x="{x:.1f}" y="{y + 14}" fill="{colour(ink)}"{weight} '
                    f'textLength="{len(run.text) * cell_w:.1f}" lengthAdjust="spacingAndGlyphs">'
                    f"{escape(run.text)}</text>"
                )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
