"""The markdown the reports are written in, as HTML: exactly the subset suite.read.report writes,
so the HTML page can be made from the same lines as the .md report and the two cannot say
different things.

The subset: ATX headings (`## Title`), paragraphs, **bold**, *italic*, `code` spans, links
`[text](url)`, images `![alt](src)`, pipe tables with an alignment row, bullet and numbered
lists (nested by indentation), fenced code blocks, block quotes, horizontal rules, and
`<details><summary>…</summary>` / `</details>` on lines of their own. Nothing else is markup:
any other `<`, `&` or quote is text and is escaped, never passed through as HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

# (alt, src) of an image alone on its line -> the HTML to put there, or None for a plain <img>.
ImageHook = Callable[[str, str], "str | None"]

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+.-]*)\s*$")
RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
ITEM = re.compile(r"^( *)([-*+]|\d{1,9}[.)]) +(.*)$")
QUOTE = re.compile(r"^ {0,3}> ?(.*)$")
DETAILS_OPEN = re.compile(r"^<details>(?:<summary>(.*)</summary>)?\s*$")
DETAILS_CLOSE = re.compile(r"^</details>\s*$")
ALIGNMENT = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
IMAGE_LINE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")

CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]*)\)")
STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
EM = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
HOLD = re.compile("\x00(\\d+)\x00")


@dataclass(frozen=True)
class Section:
    """A heading and the lines under it, up to the next heading of any level."""
    level: int                 # 1-6; 0 for the lines before the first heading
    title: str                 # the heading's markdown ("" for level 0)
    lines: tuple[str, ...]


def sections(lines: list[str]) -> list[Section]:
    """The lines cut at every heading outside a fenced code block."""
    found: list[Section] = []
    level, title, body, fence = 0, "", [], None
    for line in lines:
        fence = _fence_after(line, fence)
        heading = HEADING.match(line) if fence is None and not FENCE.match(line) else None
        if heading:
            if level or any(x.strip() for x in body):
                found.append(Section(level, title, tuple(body)))
            level, title, body = len(heading.group(1)), heading.group(2), []
        else:
            body.append(line)
    if level or any(x.strip() for x in body):
        found.append(Section(level, title, tuple(body)))
    return found


def _fence_after(line: str, fence: str | None) -> str | None:
    """The open fence (its backticks or tildes) after `line`, given the one before it."""
    match = FENCE.match(line)
    if fence is None:
        return match.group(1) if match else None
    closes = match and not match.group(2) and match.group(1)[0] == fence[0] \
        and len(match.group(1)) >= len(fence)
    return None if closes else fence


def slug(title: str, taken: set[str]) -> str:
    """A heading's id as GitHub makes it (lower case, punctuation dropped, spaces as hyphens),
    numbered when the page already has it."""
    base = re.sub(r"[^\w\- ]", "", plain(title).lower()).replace(" ", "-") or "section"
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def plain(text: str) -> str:
    """A line's markdown as the text a reader sees (for a page's <title> and ids)."""
    return html.unescape(re.sub(r"<[^>]+>", "", inline(text)))


def inline(text: str) -> str:
    """One line (or paragraph) of markdown as HTML: code spans, links, images, bold, italic;
    everything else escaped."""
    held: list[str] = []

    def hold(markup: str) -> str:
        held.append(markup)
        return f"\x00{len(held) - 1}\x00"

    def code(match: re.Match) -> str:
        content = match.group(2)
        if content.startswith(" ") and content.endswith(" ") and content.strip():
            content = content[1:-1]
        return hold(f"<code>{html.escape(content)}</code>")

    def link(match: re.Match) -> str:
        bang, label, url = match.groups()
        if bang:
            alt = html.escape(html.unescape(_tags_out(_unhold(label, held))))
            return hold(f'<img src="{url}" alt="{alt}">')
        return hold(f'<a href="{url}">{_emphasis(label)}</a>')

    text = CODE_SPAN.sub(code, text.replace("\x00", ""))
    text = html.escape(text)     # the code spans are held out of the text, so they stay markup
    text = LINK.sub(link, text)  # on escaped text: a url's & and " are already entities
    return _unhold(_emphasis(text), held)


def _emphasis(text: str) -> str:
    text = STRONG.sub(r"<strong>\1</strong>", text)
    return EM.sub(r"<em>\1</em>", text)


def _unhold(text: str, held: list[str]) -> str:
    """`text` with the markup held out of it put back (a link's label may hold code)."""
    while HOLD.search(text):
        text = HOLD.sub(lambda m: held[int(m.group(1))], text)
    return text


def _tags_out(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def blocks(lines: list[str] | tuple[str, ...], image: ImageHook | None = None) -> list[str]:
    """Lines of markdown (no headings expected: `sections` cuts at them, but one left here
    still becomes a heading) as HTML blocks, one string each."""
    lines = list(lines)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif fence := FENCE.match(line):
            i = _code_block(lines, i, fence, out)
        elif heading := HEADING.match(line):
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
            i += 1
        elif opened := DETAILS_OPEN.match(line):
            summary = opened.group(1)
            out.append("<details>" + ("" if summary is None
                                      else f"<summary>{inline(summary)}</summary>"))
            i += 1
        elif DETAILS_CLOSE.match(line):
            out.append("</details>")
            i += 1
        elif RULE.match(line):
            out.append("<hr>")
            i += 1
        elif _table_starts(lines, i):
            i = _table(lines, i, out)
        elif ITEM.match(line):
            i = _list(lines, i, out)
        elif QUOTE.match(line):
            quoted = []
            while i < len(lines) and (m := QUOTE.match(lines[i])):
                quoted.append(m.group(1))
                i += 1
            out.append("<blockquote>" + "\n".join(blocks(quoted, image)) + "</blockquote>")
        else:
            i = _paragraph(lines, i, out, image)
    return out


def _starts_block(lines: list[str], i: int) -> bool:
    """Whether line i begins a block of its own (and so ends a paragraph or a list item)."""
    line = lines[i]
    return bool(not line.strip() or FENCE.match(line) or HEADING.match(line)
                or DETAILS_OPEN.match(line) or DETAILS_CLOSE.match(line) or RULE.match(line)
                or QUOTE.match(line) or ITEM.match(line) or _table_starts(lines, i))


def _paragraph(lines: list[str], i: int, out: list[str], image: ImageHook | None) -> int:
    taken = [lines[i].strip()]
    i += 1
    while i < len(lines) and not _starts_block(lines, i):
        taken.append(lines[i].strip())
        i += 1
    alone = IMAGE_LINE.match(taken[0]) if len(taken) == 1 else None
    made = image(alone.group(1), alone.group(2)) if alone and image else None
    out.append(made if made is not None else f"<p>{inline(chr(10).join(taken))}</p>")
    return i


def _code_block(lines: list[str], i: int, fence: re.Match, out: list[str]) -> int:
    language = fence.group(2)
    opened = fence.group(1)
    body, i = [], i + 1
    while i < len(lines) and _fence_after(lines[i], opened) is not None:
        body.append(lines[i])
        i += 1
    attribute = f' class="language-{html.escape(language)}"' if language else ""
    out.append(f"<pre><code{attribute}>" + html.escape("\n".join(body)) + "</code></pre>")
    return i + 1      # past the closing fence (or the end)


def _table_starts(lines: list[str], i: int) -> bool:
    return (lines[i].lstrip().startswith("|") and i + 1 < len(lines)
            and bool(ALIGNMENT.match(lines[i + 1])) and "-" in lines[i + 1])


def _table(lines: list[str], i: int, out: list[str]) -> int:
    head = _cells(lines[i])
    aligns = [_align(cell) for cell in _cells(lines[i + 1])]
    width = len(head)
    aligns = (aligns + [""] * width)[:width]
    rows = []
    i += 2
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        cells = _cells(lines[i])
        rows.append((cells + [""] * width)[:width])
        i += 1

    def row(cells: list[str], tag: str) -> str:
        return "<tr>" + "".join(f"<{tag}{align}>{inline(cell)}</{tag}>"
                                for cell, align in zip(cells, aligns)) + "</tr>"

    out.append("<table><thead>" + row(head, "th") + "</thead><tbody>"
               + "".join(row(cells, "td") for cells in rows) + "</tbody></table>")
    return i


def _align(cell: str) -> str:
    cell = cell.strip()
    if cell.endswith(":"):
        return ' class="c"' if cell.startswith(":") else ' class="n"'
    return ""


def _cells(row: str) -> list[str]:
    """A table row's cells, split at every | as GitHub splits them (inside a code span too);
    \\| is a | in a cell."""
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.replace("\\|", "|").strip() for cell in re.split(r"(?<!\\)\|", row)]


def _list(lines: list[str], i: int, out: list[str]) -> int:
    """Consecutive list items, nested by their indentation; a line that starts no block of
    its own continues the item before it."""
    items: list[list] = []          # [indent, ordered, text]
    while i < len(lines):
        item = ITEM.match(lines[i])
        if item:
            items.append([len(item.group(1)), item.group(2)[0].isdigit(), item.group(3)])
        elif _starts_block(lines, i):
            break
        else:
            items[-1][2] += "\n" + lines[i].strip()
        i += 1
    made, _ = _nest(items, 0)
    out.append(made)
    return i


def _nest(items: list[list], start: int) -> tuple[str, int]:
    indent, ordered = items[start][0], items[start][1]
    tag = "ol" if ordered else "ul"
    parts: list[str] = []
    i = start
    while i < len(items) and items[i][0] >= indent:
        if items[i][0] > indent:            # deeper: a list inside the item before it
            nested, i = _nest(items, i)
            if parts:
                parts[-1] += nested
            else:
                parts.append(nested)
            continue
        parts.append(inline(items[i][2]))
        i += 1
    return f"<{tag}>" + "".join(f"<li>{part}</li>" for part in parts) + f"</{tag}>", i
