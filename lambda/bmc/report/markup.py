"""HTML and SVG built from escaped parts.

``Html`` marks text that is already markup; everything else (run names, file names, prompts,
error messages, even numbers) is escaped when it becomes part of a tag, so a value that came
from a user can never open an element or an attribute of its own.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping

AttributeValue = str | int | float | bool | None


class Html(str):
    """Markup that is safe to include as is (it was built by this module)."""

    __slots__ = ()


def esc(value: object) -> Html:
    """``value`` as text content or an attribute value; markup passes unchanged."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(html.escape(str(value), quote=True))


def _attribute_name(name: str) -> str:
    # Python names for HTML/SVG attributes: class_ -> class, stroke_width -> stroke-width.
    return name.rstrip("_").replace("_", "-")


def attributes(values: Mapping[str, AttributeValue]) -> Html:
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        key = _attribute_name(name)
        parts.append(key if value is True else f'{key}="{esc(_number(value))}"')
    return Html("".join(f" {part}" for part in parts))


def _number(value: AttributeValue) -> str:
    """Floats with at most two decimals (pixel coordinates), not finite ones as 0."""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"
    return str(value)


def tag(element: str, /, *children: object, **attrs: AttributeValue) -> Html:
    """``<element attrs>children</element>``; children that are not ``Html`` are escaped."""
    return Html(f"<{element}{attributes(attrs)}>{join(children)}</{element}>")


def void(element: str, /, **attrs: AttributeValue) -> Html:
    """An element without content (``<meta>``, ``<circle/>`` in SVG)."""
    closing = "/>" if element in _SVG_VOID else ">"
    return Html(f"<{element}{attributes(attrs)}{closing}")


_SVG_VOID = frozenset({"circle", "line", "path", "rect", "polyline"})


def join(parts: Iterable[object]) -> Html:
    return Html("".join(esc(part) for part in parts if part is not None))


def table(headers: Iterable[object], rows: Iterable[Iterable[object]], *, class_: str | None = None) -> Html:
    head = tag("thead", tag("tr", *(tag("th", h, scope="col") for h in headers)))
    body = tag("tbody", *(tag("tr", *(tag("td", cell) for cell in row)) for row in rows))
    return tag("table", head, body, class_=class_)


def facts(items: Iterable[tuple[object, object]]) -> Html:
    """A definition list of label/value pairs, skipping empty values."""
    shown = [(label, value) for label, value in items if value not in (None, "", [], {})]
    return tag("dl", *(join([tag("dt", label), tag("dd", value)]) for label, value in shown), class_="facts")
