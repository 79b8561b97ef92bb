"""YAML front matter of a Markdown file, read as data a hostile corpus cannot inflate.

Aliases are refused, not expanded: nine anchors chained five deep made a 434-byte file's title
3.85 M characters (35 s and 2 GB to index, a 7.7 MB answer to a 57-byte question). The block is
bounded in size, and the fields qa shows (title, source, date, url) must be short strings (a
YAML date is taken as its ISO form); anything else skips the file with one line saying why,
so the API's ``url: str | null`` always holds.

>>> split_front_matter("---\\ntitle: AML\\ndate: 2024-05-01\\n---\\n# Body\\n")
({'title': 'AML', 'date': '2024-05-01'}, '# Body\\n')
>>> split_front_matter("---\\na: &x [1]\\nb: *x\\n---\\nbody")
Traceback (most recent call last):
...
ValueError: front matter uses a YAML alias (*x); qa reads front matter without aliases
"""

from __future__ import annotations

import datetime as dt
import re

import yaml
from yaml.events import AliasEvent

MAX_BLOCK_CHARS = 16_384  # front matter is a few fields; a larger block is not front matter we read
# the longest value each shown field may have: a title is a line, a URL a browser's practical limit
FIELD_LIMITS = {"title": 1000, "source": 1000, "date": 64, "url": 2048}  # SciFact's longest title: 300
_BLOCK = re.compile(r"---[ \t]*\n(.*?)\n---[ \t]*(?:\n|$)", re.S)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that fails on the first alias instead of expanding it."""

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            raise ValueError(f"front matter uses a YAML alias (*{self.peek_event().anchor}); "
                             "qa reads front matter without aliases")
        return super().compose_node(parent, index)


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """(checked fields, body). No block, or one that is not YAML: ({}, text) as before. A block that
    is too large, uses aliases or gives a shown field a wrong type: ValueError (the file is skipped)."""
    if not text.startswith("---"):
        return {}, text
    m = _BLOCK.match(text[:MAX_BLOCK_CHARS + 16])
    if not m:
        if _BLOCK.match(text):
            raise ValueError(f"front matter longer than {MAX_BLOCK_CHARS:,} characters")
        return {}, text
    try:
        meta = yaml.load(m.group(1), Loader=_NoAliasLoader)  # noqa: S506  (a SafeLoader subclass)
    except yaml.YAMLError:
        return {}, text
    return (checked_fields(meta) if isinstance(meta, dict) else {}), text[m.end():]


def checked_fields(meta: dict) -> dict[str, str]:
    """The shown fields of ``meta`` as bounded strings; ValueError naming the first bad one.

    >>> checked_fields({"title": ["a", "b"]})
    Traceback (most recent call last):
    ...
    ValueError: front matter field 'title' must be text, not a list
    """
    out = {}
    for key, limit in FIELD_LIMITS.items():
        value = meta.get(key)
        if value is None or value == "":
            continue
        if key == "date" and isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        if not isinstance(value, str):
            raise ValueError(f"front matter field {key!r} must be text, not {_kind(value)}")
        if len(value) > limit:
            raise ValueError(f"front matter field {key!r} is {len(value):,} characters (at most {limit:,})")
        out[key] = value
    return out


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)
