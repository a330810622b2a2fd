"""The page's HTML (rag.render): escaped everywhere, markers linked, quotes highlighted by offsets."""
from __future__ import annotations

from rag import render
from rag.types import Answer, Citation, Passage, Trace

PAYLOAD = '<script>alert(1)</script><img src=x onerror="window.pwned=1"> [x](javascript:alert(2)) "q" & \'a\''


def passage(text: str, **fields) -> Passage:
    return Passage(id="a.md#h:0", article_id="a.md", title=fields.pop("title", "T"), text=text, start=0,
                   end=len(text), **fields)


def test_answer_markers_become_links_and_text_is_escaped():
    html = render.link_markers(f"{PAYLOAD} is said [1] and [7].", 3, {1})
    assert '<a class="rag-cite" href="#src-3-1"' in html and "[7]" in html and "src-3-7" not in html
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert "onerror=&quot;" in html


def test_highlight_marks_the_quote_spans_and_escapes_everything():
    text = f"First {PAYLOAD}.\nThe GPUs go to\nAtlanta. Last sentence."
    lo = text.index("The GPUs")
    html = render.highlight(text, [(lo, len(text))])
    assert html.count("<mark>") == 1 and "<mark>The GPUs go to\nAtlanta. Last sentence.</mark>" in html
    assert "<img" not in html and "<script" not in html
    assert render.highlight("<b>x</b>", []) == "&lt;b&gt;x&lt;/b&gt;"
    two = render.highlight("A one. B two. C three.", [(14, 22), (0, 6)])
    assert two == "<mark>A one.</mark> B two. <mark>C three.</mark>"


def test_highlight_ignores_spans_it_cannot_trust():
    assert render.highlight("abc", [(2, 9), (-1, 1), (1, 1)]) == "abc"
    assert render.highlight("abcdef", [(0, 4), (2, 6)]) == "<mark>abcd</mark>ef"  # overlap: first wins


def test_short_answer_is_bold_inside_the_quote():
    text = "Twitter bought about 10,000 GPUs. Other text."
    html = render.highlight(text, [(0, 33)], short="10,000")
    assert "<mark>Twitter bought about <b>10,000</b> GPUs.</mark>" in html


def test_cards_escape_title_source_author_and_id_and_show_the_page():
    p = Passage(id="x", article_id="<x>.md", title=PAYLOAD, text=PAYLOAD, start=0, end=10, source=PAYLOAD,
                author=PAYLOAD, page="3-4")
    html = render.card_html("src-1-1", "[1]", p, [(0, 5)])
    assert "<script" not in html and "<img" not in html and "<x>" not in html
    assert html.count("<mark>") == 1 and "p. 3-4" in html


def test_bidi_controls_are_removed_from_what_is_shown():
    html = render.card_html("c", "[1]", passage("Body", title="evil\u202egnp.exe", source="a\u2066b"))
    assert "\u202e" not in html and "\u2066" not in html and "evilgnp.exe" in html


def test_unsupported_llm_claims_are_marked():
    p = passage("The GPUs go to Atlanta.")
    answer = Answer("q", "The GPUs go to Atlanta [1]. Penguins like jazz [1].", False,
                    [Citation(1, p, [(0, 23)])], [p],
                    Trace(unsupported=[{"sentence": "Penguins like jazz.", "problem": "not supported"}]))
    html = render.answer_html(answer, 1)
    assert html.count('class="rag-unsupported"') == 1
    assert 'class="rag-unsupported"' in html.split("Penguins")[0][-200:]
    assert "Atlanta" not in html.split('class="rag-unsupported"')[1]


def test_sources_of_an_abstention_are_related_passages():
    p = passage("Something near.")
    html = render.sources_html([Answer("q?", "The articles don't say.", True, [], [p])])
    assert "rag-related" in html and "Related passages" in html
