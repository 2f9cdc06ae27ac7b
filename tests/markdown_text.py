"""What a reader sees of a report, section by section, read two independent ways: from the
markdown by stripping its markup (`section_texts`), and from the HTML page by walking its
<section> elements (`page_sections`, the unit tier's stand-in for a browser; the integration
tier asks headless Chromium). The tests that compare them are the check that the page carries
every section of the markdown report with the same text.

Stripping is written here on purpose apart from suite.read.report.markup, so the comparison is
of two readings, not of the converter with itself. Images count as no text: the page draws
them (inline SVG, whose labels are the chart's, not the report's), markdown shows their file.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALIGNMENT_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
FENCE = re.compile(r"^\s*(```|~~~)")


def normalize(text: str) -> str:
    """Whitespace runs as one space, none at the ends: layout is not text."""
    return " ".join(text.split())


def strip_inline(text: str) -> str:
    """One line's visible text: code spans verbatim, links as their label, images as
    nothing, bold and italic markers gone."""
    pieces = re.split(r"(`+)(.+?)\1", text)
    out = []
    for i in range(0, len(pieces), 3):
        plain = pieces[i]
        plain = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", plain)
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", plain)
        plain = re.sub(r"\*\*(\S|\S.*?\S)\*\*", r"\1", plain)
        plain = re.sub(r"(?<![\w*])\*(\S|[^\s*].*?[^\s*])\*(?![\w*])", r"\1", plain)
        out.append(plain)
        if i + 2 < len(pieces):
            code = pieces[i + 2]
            out.append(code[1:-1] if code.startswith(" ") and code.endswith(" ")
                       and code.strip() else code)
    return "".join(out)


def strip_line(line: str) -> str:
    line = re.sub(r"^\s*>\s?", "", line)                    # block quote
    line = re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", line)      # list item
    line = re.sub(r"</?(details|summary)>", " ", line)
    if line.lstrip().startswith("|"):                        # a table row: its cells
        line = " ".join(cell.replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line))
    return strip_inline(line)


def section_texts(markdown: str) -> list[tuple[str, str]]:
    """(heading, text) of every section of a markdown report, in order; a section runs from
    its heading to the next heading of any level. Text before the first heading is left out."""
    found: list[tuple[str, list[str]]] = []
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            if found:
                found[-1][1].append(line)
            continue
        heading = HEADING.match(line)
        if heading:
            found.append((normalize(strip_inline(heading.group(2))), []))
        elif found and not ALIGNMENT_ROW.match(line) and not RULE.match(line):
            found[-1][1].append(strip_line(line))
    return [(title, normalize(" ".join(lines))) for title, lines in found]


class _Sections(HTMLParser):
    """Collects, per <section>, its heading's text and the text after it, the way a browser's
    innerText would: no <svg>, <script> or <style> content, cells and blocks apart."""

    BLOCKS = {"p", "div", "li", "tr", "td", "th", "table", "pre", "blockquote", "details",
              "summary", "figure", "br", "hr", "ul", "ol", "nav"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[list] = []      # [heading, text parts]
        self.hidden = 0
        self.depth = 0                      # inside a <section>
        self.heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("svg", "script", "style"):
            self.hidden += 1
        elif tag == "section":
            self.depth += 1
            self.sections.append(["", []])
        elif self.depth and re.fullmatch(r"h[1-6]", tag) and not self.sections[-1][0]:
            self.heading = []
        elif tag in self.BLOCKS and self.depth:
            self.sections[-1][1].append(" ")

    def handle_endtag(self, tag):
        if tag in ("svg", "script", "style"):
            self.hidden -= 1
        elif tag == "section":
            self.depth -= 1
        elif re.fullmatch(r"h[1-6]", tag) and self.heading is not None:
            self.sections[-1][0] = normalize("".join(self.heading))
            self.heading = None
        elif tag in self.BLOCKS and self.depth:
            self.sections[-1][1].append(" ")

    def handle_data(self, data):
        if self.hidden or not self.depth:
            return
        (self.heading if self.heading is not None else self.sections[-1][1]).append(data)


def page_sections(page: str) -> list[tuple[str, str]]:
    """(heading, text) of every <section> of an HTML page, in order."""
    parser = _Sections()
    parser.feed(page)
    return [(heading, normalize("".join(parts))) for heading, parts in parser.sections]
