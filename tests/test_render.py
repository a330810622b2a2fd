"""The page's HTML (rag.render): escaped everywhere, markers linked, quotes highlighted by offsets."""
from __future__ import annotations

from rag import render
from rag.types import Answer, Citation, Filters, Passage, Trace

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


def dated(n: int, date: str, text: str, source: str = "Wire") -> Citation:
    return Citation(n, passage(text, date=date, source=source), [(0, len(text))])


def test_a_timeline_is_an_ordered_list_led_by_each_articles_date():
    cites = [dated(1, "2005-03-01", "Talks began."), dated(2, "2005-04-02", f"A deal {PAYLOAD}.")]
    text = "2005-03-01 (Wire): Talks began. [1]\n2005-04-02 (Wire): A deal. [2]\n(3 dated articles; 2 shown.)"
    html = render.answer_html(Answer("q", text, False, cites, kind="timeline"), 2)
    timeline = html.split('<ol class="rag-timeline">')[1].split("</ol>")[0]
    assert timeline.count("<li>") == 2
    assert timeline.index('<time datetime="2005-03-01">2005-03-01</time>(Wire): Talks began.') < \
        timeline.index('<time datetime="2005-04-02">')
    assert '<a class="rag-cite" href="#src-2-2"' in timeline
    assert html.endswith("<p>(3 dated articles; 2 shown.)</p></div>")


def test_a_timeline_line_without_a_leading_date_takes_its_citations_date():
    html = render.answer_html(Answer("q", "In spring the talks began [1].", False,
                                     [dated(1, "2005-03-01", "x")], kind="timeline"), 1)
    assert '<li><time datetime="2005-03-01">2005-03-01</time>In spring the talks began' in html


def test_count_list_and_sources_lines_are_a_list_under_their_head():
    for kind in ("count", "list", "sources"):
        text = f"2 articles mention “<GPU>” (counted: ...).\n2023-04-11, A: one. [1]\n2023-04-12, B: two. [2]"
        html = render.answer_html(Answer("q", text, False, [dated(1, "2023-04-11", "one."),
                                                            dated(2, "2023-04-12", "two.")], kind=kind), 1)
        assert html.startswith('<div class="rag-answer rag-kind-' + kind + '"><p>2 articles mention “&lt;GPU&gt;”')
        assert html.count("<li>") == 2 and '<ul class="rag-lines">' in html
    single = render.answer_html(Answer("q", "One line [1].", False, [dated(1, "", "x")], kind="summary"), 1)
    assert "<ul" not in single  # one sentence stays a sentence


def test_no_articles_from_a_range_is_distinct_and_its_date_chip_removable():
    answer = Answer("q", "No articles from May 2020.", True, kind="no_articles",
                    filters=Filters(date_from="2020-05-01", date_to="2020-05-31"))
    html = render.answer_html(answer, 4)
    assert 'class="rag-abstain rag-no-articles"' in html and "No articles from May 2020." in html
    assert "Related" not in html
    assert '<span class="rag-chip" title="filter applied">dates 2020-05-01 to 2020-05-31' \
           '<a class="rag-chip-x" href="#undate-4"' in html
    assert "No indexed article is dated in that range" in render.sources_html([answer])


def test_only_the_date_chip_can_be_removed():
    answer = Answer("q", "x", False, filters=Filters(article_ids=("a.md",), sources=("<Wire>",)))
    html = render.answer_html(answer, 1)
    assert "rag-chip-x" not in html and html.count('class="rag-chip"') == 2 and "&lt;Wire&gt;" in html
