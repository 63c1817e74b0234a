"""Merchant-written HTML, made safe to put in a storefront page: the one sanitiser.

`sanitize_html()` hands the text to nh3 (the Python binding of ammonia, a maintained html5ever-based
sanitiser: a browser's own parsing, not a regular expression) with the project's allow-list of
tags and attributes, and drops everything else: `<script>`, `<style>`, `<iframe>`, `<svg>` and the
like with their content; any other unknown tag (its text stays); every attribute not listed (so
every `on*` event handler and `style`); links and image sources that fail `link_allowed` (so
`javascript:`, `vbscript:`, `data:` and protocol-relative links, however they are spelled, encoded
or split by whitespace); comments. Links get rel="noopener noreferrer". The output is serialised
from the parsed tree, so sanitising twice gives the same text.

`RichTextField` applies it whenever a row is written (`pre_save`, bulk_create included), so no
path into the database (admin, seed, services, a shell) can store unsanitised HTML.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3
from django.core.exceptions import ValidationError
from django.db import models

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "hr",
        "i", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
        "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
}
URL_ATTRIBUTES = frozenset({"href", "src"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
VOID_TAGS = frozenset({"br", "hr", "img"})
# Dropped with everything inside them: what they hold is code, styling or another document.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "iframe", "frameset", "object", "applet", "template",
        "noscript", "noembed", "noframes", "textarea", "select", "svg", "math", "title", "head",
        "xmp", "plaintext", "form", "button",
    }
)  # fmt: skip
# Browsers ignore ASCII tabs, newlines and other controls inside a URL's scheme ("java\tscript:").
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]+")
_NUMBER = re.compile(r"^\d{1,4}$")


def link_allowed(url: str) -> bool:
    """Whether a link or image source may be served: a relative URL (not protocol-relative) or
    one of URL_SCHEMES. The same test guards banner, menu and guarantee links."""
    compact = _URL_IGNORED.sub("", url)
    if compact.startswith("//") or compact.startswith("\\"):
        return False  # another host, scheme taken from the page: say so with https://
    try:
        scheme = urlsplit(compact).scheme
    except ValueError:
        return False
    return (scheme == "" and ":" not in compact.split("/", 1)[0]) or scheme.lower() in URL_SCHEMES


def validate_link(url: str) -> None:
    """A model field validator: the link's scheme is allowed (link_allowed)."""
    if url and not link_allowed(url):
        raise ValidationError(
            "Use a path on this site (/about) or an http(s), mailto or tel link.", code="link"
        )


def sanitize_html(html: str) -> str:
    """`html` with only the allowed tags, attributes and links (module docstring)."""
    if not html:
        return ""
    return nh3.clean(
        html.replace("\x00", ""),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"*": set()} | {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    """nh3's per-attribute hook: the project's link rule and plain numbers for sizes."""
    value = value.strip()
    if name in URL_ATTRIBUTES and not link_allowed(value):
        return None
    if name in {"width", "height", "colspan", "rowspan"} and not _NUMBER.match(value):
        return None
    return value


class RichTextField(models.TextField):
    """A TextField whose HTML is sanitised (sanitize_html) every time its row is written."""

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = sanitize_html(getattr(model_instance, self.attname) or "")
        setattr(model_instance, self.attname, value)
        return value
