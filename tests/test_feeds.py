"""RSS 2.0 and Atom feeds: one article per item with its full content (else its summary) as text, date,
author, link and the feed's title as source; files that are not feeds are skipped with a reason; a feed
of 10,000 items is read whole; nothing is fetched or opened while reading."""
from __future__ import annotations

import time

import pytest

from rag.corpus import scan
from rag.readers import BadFile
from rag.readers.feeds import read_feed

MB = 1_000_000
NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:content="http://purl.org/rss/1.0/modules/content/"')


def rss(items: str, title: str = "Arlen Post") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {NS}><channel><title>{title}</title>'
            f"<link>https://arlen.example/</link><description>News from Port Arlen</description>{items}"
            "</channel></rss>").encode()


def item(i: int, content: bool = True) -> str:
    full = (f"<content:encoded><![CDATA[<p>Ferry {i} left the harbour at <b>dawn</b>.</p>"
            f"<p>It carried {i % 50} passengers and the island mail.</p>]]></content:encoded>") if content else ""
    return (f"<item><title>Ferry {i} &amp; the mail</title><link>https://arlen.example/ferry/{i}</link>"
            f"<guid isPermaLink=\"false\">arlen-{i}</guid><pubDate>Thu, 04 May 2023 23:30:00 -0500</pubDate>"
            f"<dc:creator>Lena Brook</dc:creator><description>&lt;p&gt;Ferry {i} left at dawn.&lt;/p&gt;"
            f"</description>{full}</item>")


def test_rss_items_with_full_content():
    [first, second] = read_feed(rss(item(1) + item(2)), "arlen.rss")
    assert first.title == "Ferry 1 & the mail"
    assert first.text == "Ferry 1 left the harbour at dawn.\nIt carried 1 passengers and the island mail."
    assert (first.date, first.author, first.source, first.url, first.key) == \
        ("2023-05-04", "Lena Brook", "Arlen Post", "https://arlen.example/ferry/1", "arlen-1")
    assert second.key == "arlen-2" and first.note == ""


def test_rss_items_with_only_a_summary_use_it():
    [record] = read_feed(rss(item(7, content=False)), "arlen.rss")
    assert record.text == "Ferry 7 left at dawn."


def test_atom_entries():
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Gull Point Log</title><id>urn:gull</id>
<updated>2023-05-06T08:00:00Z</updated>
<entry><id>urn:gull:1</id><title type="html">Lamp &lt;em&gt;relit&lt;/em&gt;</title>
<link rel="alternate" href="https://gull.example/1"/><updated>2023-05-06T08:00:00Z</updated>
<published>2023-05-05T21:00:00+02:00</published><author><name>Edda Voss</name></author>
<summary>Short.</summary><content type="html">&lt;p&gt;The lamp was relit after the storm.&lt;/p&gt;</content></entry>
<entry><id>urn:gull:2</id><title>Fog</title><updated>2023-05-07T08:00:00Z</updated>
<summary type="text">Fog closed the harbour.</summary></entry></feed>"""
    first, second = read_feed(atom, "gull.atom")
    assert (first.title, first.text, first.date, first.author, first.url, first.key, first.source) == \
        ("Lamp relit", "The lamp was relit after the storm.", "2023-05-05", "Edda Voss", "https://gull.example/1",
         "urn:gull:1", "Gull Point Log")
    assert (second.text, second.date, second.key) == ("Fog closed the harbour.", "2023-05-07", "urn:gull:2")


def test_items_without_guid_are_keyed_by_link_then_position():
    items = ("<item><title>A</title><link>https://arlen.example/a</link><description>Alpha.</description></item>"
             "<item><title>B</title><description>Beta.</description></item>"
             "<item><title>Empty</title><description> </description></item>")
    records = read_feed(rss(items), "x.rss")
    assert [r.key for r in records] == ["https://arlen.example/a", "item 2"]
    assert records[0].note == "1 record(s) skipped (item 3: no text)"


def test_files_that_are_not_feeds_are_skipped_with_reasons(tmp_path):
    (tmp_path / "sitemap.xml").write_text('<?xml version="1.0"?><urlset><url><loc>https://a.example/</loc>'
                                          "</url></urlset>")
    (tmp_path / "page.xml").write_text("<html><body><p>Not a feed at all.</p></body></html>")
    (tmp_path / "empty.rss").write_bytes(rss(""))
    (tmp_path / "ok.xml").write_bytes(rss(item(3)))
    result = scan(tmp_path, MB)
    reasons = dict(result.skipped)
    assert reasons["sitemap.xml"].startswith("not an RSS or Atom feed")
    assert reasons["page.xml"].startswith("not an RSS or Atom feed")
    assert reasons["empty.rss"] == "the feed has no items"
    assert [a.id for a in result.articles] == ["ok.xml#arlen-3"]


def test_broken_xml_is_read_leniently_with_a_note():
    broken = rss(item(1) + "<item><title>Unclosed & bad</title><description>Still text.</description></item>")
    records = read_feed(broken, "x.rss")
    assert [r.title for r in records] == ["Ferry 1 & the mail", "Unclosed & bad"]
    assert records[0].note == "feed is not well-formed XML; read leniently"


def test_reading_a_feed_opens_no_file_and_resolves_no_entity(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET CONTENT")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret}">]>'
           f'<rss version="2.0"><channel><title>T</title><item><title>x</title><description>a &leak; b'
           "</description></item></channel></rss>").encode()
    records = read_feed(xxe, "x.rss")
    assert all("TOP SECRET" not in r.text for r in records)
    with pytest.raises(BadFile):  # feedparser would open bytes that look like a path as a file: we never let it
        read_feed(str(secret).encode(), "x.rss")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_feed_of_ten_thousand_items_is_read_whole():
    raw = rss("".join(item(i) for i in range(10_000)))
    started = time.perf_counter()
    records = read_feed(raw, "big.rss")
    seconds = time.perf_counter() - started
    assert len(records) == 10_000 and len({r.key for r in records}) == 10_000
    assert records[-1].text.startswith("Ferry 9999 left the harbour")
    print(f"\n10,000-item feed ({len(raw) / 1e6:.1f} MB): {seconds:.1f} s, {seconds / 10:.2f} ms per item")
