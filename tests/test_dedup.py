"""rag/dedup.py: near-duplicate articles folded into stories (MinHash + LSH, persistent, incremental)."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag.dedup import DuplicateIndex, Group, Params, Signer, choose_canonical, shingles
from rag.types import Article

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "datasets" / "bbc-news"

# A wire story written for these tests, the same story as outlets republish it, a follow-up on the same
# company (a different story that repeats one background sentence), and an unrelated story.
WIRE = "\n\n".join([
    "Harbor Freight Lines profit jumps on record cargo volumes",
    "Harbor Freight Lines said on Tuesday that its quarterly profit rose 38% to 412 million euros, helped by "
    "record cargo volumes between Asia and northern Europe and higher freight rates on its busiest routes.",
    "The company, based in Rotterdam, operates 42 container ships and terminals in six ports, and it has "
    "spent heavily on larger vessels since the pandemic disrupted global supply chains.",
    "Chief executive Marta Vos told analysts that bookings for the coming quarter were already ahead of last "
    "year, although she warned that fuel costs and new emissions charges would squeeze margins in the second "
    "half.",
    "Revenue climbed to 2.9 billion euros from 2.3 billion a year earlier. The firm raised its full-year "
    "forecast and said it would pay a special dividend of 50 cents a share in May.",
    "Shares in the group closed 6% higher in Amsterdam, making them the best performer on the index this "
    "year. Analysts at two banks lifted their price targets after the results.",
])

HEADLINE = WIRE.replace("Harbor Freight Lines profit jumps on record cargo volumes",
                        "UPDATE 1-Rotterdam shipper Harbor Freight beats forecasts, lifts dividend")
PARAGRAPH = WIRE.replace("Revenue climbed to 2.9 billion euros from 2.3 billion a year earlier. The firm raised "
                         "its full-year forecast and said it would pay a special dividend of 50 cents a share in "
                         "May.\n\n", "")
SENTENCE = WIRE.replace(
    "Chief executive Marta Vos told analysts that bookings for the coming quarter were already ahead of last year",
    "Bookings for the next quarter were already running ahead of last year, chief executive Marta Vos informed "
    "analysts")
BYLINE = WIRE.replace("\n\nHarbor Freight Lines said",
                      "\n\nBy Tom Hadley, Reuters\n\nAMSTERDAM (Reuters) - Harbor Freight Lines said")

FOLLOW_UP = "\n\n".join([
    "Harbor Freight Lines shares fall as dock strike looms",
    "Shares in Harbor Freight Lines fell 4% on Thursday after dock workers at its two largest terminals voted"
    " to strike over pay, threatening to halt loading during the busiest weeks of the year.",
    "The company, based in Rotterdam, operates 42 container ships and terminals in six ports, and it has "
    "spent heavily on larger vessels since the pandemic disrupted global supply chains.",
    "The union said 87% of members backed action and that stoppages could begin in ten days unless the "
    "company improved its offer of a 3% rise. Management said talks would continue and that contingency plans"
    " were in place to divert ships to other ports.",
    "Customers including two large retailers said they were watching the dispute closely. A prolonged strike "
    "would hit earnings at a time when the group had just raised its forecast, one analyst said.",
])

UNRELATED = "\n\n".join([
    "City council approves new cycling lanes",
    "The city council voted on Monday to build twelve kilometres of protected cycling lanes along the river, "
    "ending two years of debate over the plan and its cost.",
    "Supporters said the lanes would cut traffic and make the centre safer for children riding to school, "
    "while shop owners warned that removing parking spaces would drive customers away.",
    "Work on the first section is due to begin in the spring and should be finished before the summer "
    "festival, the council said. The whole project is expected to cost 18 million, a third of it paid by a "
    "national grant.",
])


def art(article_id: str, text: str, date: str = "", source: str = "") -> Article:
    return Article(id=article_id, title=text.split("\n", 1)[0], text=text, date=date, source=source)


def members(index: DuplicateIndex) -> list[set[str]]:
    return [set(g.members) for g in index.groups()]


@pytest.mark.parametrize("copy", [WIRE, HEADLINE, PARAGRAPH, SENTENCE, BYLINE], ids=[
    "exact copy", "headline changed", "paragraph dropped", "sentence reworded", "byline added"])
def test_each_kind_of_copy_joins_its_original(copy):
    index = DuplicateIndex(None)
    index.update([art("reuters/1.txt", WIRE), art("outlet/1.txt", copy), art("council.txt", UNRELATED)])
    assert members(index) == [{"reuters/1.txt", "outlet/1.txt"}]


def test_the_edits_really_edit():
    assert len({WIRE, HEADLINE, PARAGRAPH, SENTENCE, BYLINE}) == 5


def test_a_follow_up_on_the_same_topic_is_another_story():
    index = DuplicateIndex(None)
    index.update([art("a.txt", WIRE), art("b.txt", HEADLINE), art("c.txt", FOLLOW_UP), art("d.txt", UNRELATED)])
    assert members(index) == [{"a.txt", "b.txt"}]
    assert index.group_of("c.txt") is None and index.group_of("d.txt") is None


def test_copies_of_copies_form_one_group():
    index = DuplicateIndex(None)
    arts = [art(f"{name}.txt", text) for name, text in
            [("wire", WIRE), ("h", HEADLINE), ("p", PARAGRAPH), ("s", SENTENCE), ("b", BYLINE)]]
    index.update(arts)
    assert members(index) == [{a.id for a in arts}]
    assert all(index.group_of(a.id) == index.groups()[0] for a in arts)


def test_choose_canonical_earliest_date_then_longest_then_smallest_id():
    undated_long = art("z.txt", WIRE + " More text.")
    late = art("y.txt", WIRE, date="2026-03-02")
    early_short = art("x.txt", PARAGRAPH, date="2026-03-01")
    early_long = art("w.txt", BYLINE, date="2026-03-01")
    early_long_twin = art("v.txt", BYLINE, date="2026-03-01")
    assert choose_canonical([undated_long, late]) is late  # dated before undated, even if shorter
    assert choose_canonical([late, early_short]) is early_short  # earliest date wins over length
    assert choose_canonical([early_short, early_long]) is early_long  # same date: the longest
    assert choose_canonical([early_long, early_long_twin]) is early_long_twin  # then the smallest id
    assert choose_canonical([art("b.txt", WIRE), art("a.txt", WIRE + "!")]).id == "a.txt"


def test_group_canonical_first_then_members_by_id():
    index = DuplicateIndex(None)
    index.update([art("c.txt", WIRE, date="2026-03-02"), art("b.txt", HEADLINE),
                  art("a.txt", SENTENCE, date="2026-03-03"), art("d.txt", BYLINE, date="2026-03-02")])
    # c and d share the earliest date; d is longer (byline added)
    assert index.groups() == [Group("d.txt", ("d.txt", "a.txt", "b.txt", "c.txt"))]


def test_only_new_and_changed_articles_are_signed(monkeypatch):
    calls = []
    original = Signer.signature
    monkeypatch.setattr(Signer, "signature", lambda self, text: calls.append(text) or original(self, text))
    index = DuplicateIndex(None)
    index.update([art("a.txt", WIRE), art("b.txt", HEADLINE), art("c.txt", UNRELATED)])
    assert len(calls) == 3
    calls.clear()
    index.update([art("a.txt", WIRE), art("b.txt", HEADLINE), art("c.txt", UNRELATED)])  # unchanged
    assert calls == []
    index.update([art("a.txt", WIRE), art("b.txt", FOLLOW_UP), art("c.txt", UNRELATED)])  # b changed
    assert calls == [FOLLOW_UP]
    assert members(index) == []  # b is no longer a copy of a


def test_a_changed_article_joins_its_new_story_and_update_says_who_changed():
    index = DuplicateIndex(None)
    index.update([art("a.txt", WIRE), art("b.txt", HEADLINE), art("c.txt", UNRELATED), art("d.txt", FOLLOW_UP)])
    touched = index.update([art("b.txt", FOLLOW_UP + "\n\nCorrection appended.")])
    assert members(index) == [{"b.txt", "d.txt"}]
    assert touched == {"a.txt", "b.txt", "d.txt"}  # a's group lost b; d's group gained it; c untouched


def test_a_removed_article_leaves_its_group():
    index = DuplicateIndex(None)
    index.update([art("a.txt", WIRE), art("b.txt", HEADLINE), art("c.txt", BYLINE)])
    assert index.update([], removed=["c.txt"]) == {"a.txt", "b.txt", "c.txt"}
    assert members(index) == [{"a.txt", "b.txt"}] and index.group_of("c.txt") is None
    index.update([], removed=["a.txt", "never-indexed.txt"])
    assert members(index) == [] and index.group_of("b.txt") is None and len(index) == 1


def test_removing_the_original_keeps_the_copies_grouped_only_if_they_match_each_other():
    index = DuplicateIndex(None)
    index.update([art("wire.txt", WIRE), art("h.txt", HEADLINE), art("b.txt", BYLINE)])
    index.update([], removed=["wire.txt"])
    assert members(index) == [{"h.txt", "b.txt"}]  # two light edits still match each other directly


def test_persistent_across_reopen_and_nothing_resigned(tmp_path, monkeypatch):
    path = tmp_path / "index" / "dedup.sqlite"
    corpus = [art("a.txt", WIRE), art("b.txt", PARAGRAPH), art("c.txt", UNRELATED), art("d.txt", FOLLOW_UP)]
    with DuplicateIndex(path) as index:
        index.update(corpus)
        before = index.groups()
    calls = []
    monkeypatch.setattr(Signer, "signature", lambda self, text: calls.append(text))
    with DuplicateIndex(path) as index:
        assert index.groups() == before == [Group("a.txt", ("a.txt", "b.txt"))]
        index.update(corpus)
        assert calls == [] and len(index) == 4


def test_other_parameters_discard_the_stored_signatures(tmp_path):
    path = tmp_path / "dedup.sqlite"
    with DuplicateIndex(path) as index:
        index.update([art("a.txt", WIRE), art("b.txt", HEADLINE)])
    with DuplicateIndex(path, Params(shingle=5)) as index:
        assert len(index) == 0  # not comparable: re-signed by the next update of the whole corpus
        index.update([art("a.txt", WIRE), art("b.txt", HEADLINE)])
        assert members(index) == [{"a.txt", "b.txt"}]


def test_a_failed_update_changes_nothing(monkeypatch):
    index = DuplicateIndex(None)
    index.update([art("a.txt", WIRE), art("b.txt", HEADLINE)])

    def boom(self, docs):
        raise RuntimeError("killed")

    monkeypatch.setattr(DuplicateIndex, "_link", boom)
    with pytest.raises(RuntimeError):
        index.update([art("c.txt", BYLINE)], removed=["b.txt"])
    monkeypatch.undo()
    assert members(index) == [{"a.txt", "b.txt"}] and len(index) == 2


@pytest.mark.slow
def test_a_reader_in_another_process_sees_committed_updates(tmp_path):
    path = tmp_path / "dedup.sqlite"
    reader = ("import sys; from rag.dedup import DuplicateIndex; "
              "print(DuplicateIndex(sys.argv[1]).group_of('b.txt'))")
    with DuplicateIndex(path) as index:
        index.update([art("a.txt", WIRE, date="2026-03-01"), art("b.txt", SENTENCE)])
        out = subprocess.run([sys.executable, "-c", reader, str(path)], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert out.stdout.strip() == "Group(canonical='a.txt', members=('a.txt', 'b.txt'))", out.stderr
        index.update([], removed=["a.txt"])
        out = subprocess.run([sys.executable, "-c", reader, str(path)], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert out.stdout.strip() == "None", out.stderr


def test_a_reader_during_updates_sees_whole_updates(tmp_path):
    index = DuplicateIndex(tmp_path / "dedup.sqlite")
    index.update([art("a.txt", WIRE)])
    reader = DuplicateIndex(tmp_path / "dedup.sqlite")  # its own connection, as another process would have
    seen, errors, done = set(), [], threading.Event()

    def read():
        while not done.is_set():
            try:
                group = reader.group_of("a.txt")
                seen.add(frozenset(group.members) if group else frozenset())
            except Exception as err:  # noqa: BLE001
                errors.append(err)

    thread = threading.Thread(target=read)
    thread.start()
    for _ in range(10):
        index.update([art("b.txt", HEADLINE), art("c.txt", BYLINE)])
        index.update([], removed=["b.txt", "c.txt"])
    done.set()
    thread.join()
    assert not errors
    assert seen <= {frozenset(), frozenset({"a.txt", "b.txt", "c.txt"})}  # never half an update


def test_short_and_empty_texts():
    assert len(shingles("Hi there", 4)) == 1 and len(shingles("", 4)) == 1
    index = DuplicateIndex(None)
    index.update([art("a.txt", "Hi there"), art("b.txt", "hi, THERE!"), art("c.txt", "Goodbye")])
    assert members(index) == [{"a.txt", "b.txt"}]  # same words: one story


@pytest.mark.slow
@pytest.mark.skipif(not BBC.is_dir(), reason="BBC News dataset not present (../shared/datasets/bbc-news)")
def test_bbc_fifty_originals_with_generated_copies():
    """50 BBC stories with one copy per kind of edit (bench/dedup.py's generator), among every business and
    politics article (where the follow-ups on one topic are): each story is exactly one group, and no group
    mixes stories except revisions of one report, which the labels leave open."""
    from bench.dedup import KINDS, Doc, bbc_stories, load_bbc, make_copy
    import random

    bbc = [a for a in load_bbc(BBC) if a.id.split("/")[0] in ("business", "politics")]
    story, revisions = bbc_stories(bbc)
    singles = sorted(s for s in set(story.values()) if list(story.values()).count(s) == 1)
    originals = random.Random(4).sample(singles, 50)
    by_id = {a.id: a for a in bbc}
    docs = [Doc(a, story[a.id], "bbc") for a in bbc]
    for original in originals:
        for kind in KINDS:
            text = make_copy(by_id[original].text, kind, random.Random(f"{original}/{kind}"))
            docs.append(Doc(art(f"{original}~{kind}", text), original, kind))
    index = DuplicateIndex(None)
    index.update(d.article for d in docs)
    story_of = {d.article.id: d.story for d in docs}
    groups = index.groups()
    for original in originals:
        assert set(index.group_of(original).members) == {original, *(f"{original}~{k}" for k in KINDS)}
    for group in groups:
        stories = {story_of[m] for m in group.members}
        assert len(stories) == 1 or frozenset(stories) in revisions, group
