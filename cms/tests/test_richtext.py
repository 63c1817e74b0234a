"""The sanitiser (cms/richtext.py) against the classic XSS vectors, and on every save path."""

import pytest

from cms.models import Footer, HomepageSection, Page, SectionKind
from cms.richtext import link_allowed, sanitize_html

VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="//evil.example/">x</a>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<iframe src="https://evil.example"></iframe>',
    "<object data=x></object><embed src=x>",
    '<form action="https://evil.example"><button>x</button></form>',
    '<p onclick="alert(1)" onmouseover=alert(2)>x</p>',
    "<<script>script>alert(1)<</script>/script>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    '<a href="https://ok.example" onfocus=alert(1) autofocus>x</a>',
    "<style>@import 'https://evil.example/x.css';</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<base href=javascript:alert(1)//>",
    "<template><script>alert(1)</script></template>",
    '"><script>alert(1)</script>',
]


@pytest.mark.parametrize("vector", VECTORS)
def test_no_vector_survives(vector):
    clean = sanitize_html(vector).lower()
    for bad in ("<script", "javascript:", "vbscript:", "data:", "onerror", "onload", "onclick"):
        assert bad not in clean, (vector, clean)
    for bad in ("onmouseover", "onfocus", "style=", "<iframe", "<svg", "<object", "<embed"):
        assert bad not in clean, (vector, clean)
    for bad in ("<form", "<meta", "<base", "<style", "//evil", "<!--"):
        assert bad not in clean, (vector, clean)
    assert sanitize_html(sanitize_html(vector)) == sanitize_html(vector)  # stable


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>Hello <b>you</b></p>", "<p>Hello <b>you</b></p>"),
        (
            '<a href="/pages/returns" title="R">Returns</a>',
            '<a href="/pages/returns" title="R" rel="noopener noreferrer">Returns</a>',
        ),
        (
            '<a href="mailto:a@b.c" target="_blank">mail</a>',
            '<a href="mailto:a@b.c" rel="noopener noreferrer">mail</a>',
        ),
        ("<p>unclosed <em>emphasis", "<p>unclosed <em>emphasis</em></p>"),
        ("<p>stray</b> end</p>", "<p>stray end</p>"),
        ("<custom>text kept</custom>", "text kept"),
        ("<p>a < b & c > d</p>", "<p>a &lt; b &amp; c &gt; d</p>"),
        (
            '<img src="https://cdn.example/a.png" alt="A" width="40" height="x">',
            '<img src="https://cdn.example/a.png" alt="A" width="40">',
        ),
        (
            '<table><tr><td colspan="2">x</td></tr></table>',
            '<table><tbody><tr><td colspan="2">x</td></tr></tbody></table>',
        ),
        ('<p title="&quot;x&quot;">q</p>', "<p>q</p>"),
        ("<script>gone</script><p>kept</p>", "<p>kept</p>"),
        ("", ""),
    ],
)
def test_allowed_html_is_kept_and_text_escaped(dirty, clean):
    assert sanitize_html(dirty) == clean


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/pages/about", True),
        ("#top", True),
        ("page.html", True),
        ("https://example.com/x?y=1", True),
        ("http://example.com", True),
        ("mailto:help@example.com", True),
        ("tel:+4412345", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.example", False),
        ("\\\\evil.example", False),
        ("ftp://example.com", False),
        ("1javascript:alert(1)", False),
    ],
)
def test_links(url, allowed):
    assert link_allowed(url) is allowed


@pytest.mark.django_db
def test_every_rich_text_field_is_sanitised_when_written():
    page = Page.objects.create(
        slug="a", title="A", body='<p onclick="x()">Hi<script>x()</script></p>'
    )
    assert page.body == "<p>Hi</p>"
    page.refresh_from_db()
    assert page.body == "<p>Hi</p>"
    page.body = '<a href="javascript:x()">y</a>'
    page.save()
    page.refresh_from_db()
    assert page.body == '<a rel="noopener noreferrer">y</a>'
    (bulk,) = Page.objects.bulk_create(
        [Page(slug="b", title="B", body="<iframe></iframe><p>ok</p>")]
    )
    assert Page.objects.get(pk=bulk.pk).body == "<p>ok</p>"
    section = HomepageSection.objects.create(kind=SectionKind.TEXT, body="<svg onload=x()>")
    assert HomepageSection.objects.get(pk=section.pk).body == ""
    footer = Footer.objects.create(text="<b onmouseover=x()>b</b>")
    assert Footer.objects.get(pk=footer.pk).text == "<b>b</b>"


@pytest.mark.django_db
def test_links_on_content_rows_are_validated():
    from django.core.exceptions import ValidationError

    from cms.tests.fixtures import BannerFactory

    banner = BannerFactory.build(link_url="javascript:alert(1)")
    with pytest.raises(ValidationError) as error:
        banner.full_clean()
    assert "link_url" in error.value.message_dict
