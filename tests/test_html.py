"""The static HTML edition: every notebook has a page, every image is present, no internal link is broken."""

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from rlbook.book import html as book_html

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    book_html.build(out)
    return out


def _pages(site):
    return sorted(site.glob("*.html"))


def test_every_notebook_has_a_page(site):
    names = {p.name for p in _pages(site)}
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        expected = "index.html" if nb.stem.startswith("00_") else nb.stem + ".html"
        assert expected in names, f"no page for {nb.name}"
    manifest = json.loads((site / "pages.json").read_text())
    assert manifest[0]["page"] == "index.html"
    assert [m["page"] for m in manifest[1:]] == sorted(m["page"] for m in manifest[1:])


def test_images_are_embedded_or_present(site):
    for page in _pages(site):
        for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', page.read_text()):
            if src.startswith("data:image/"):
                continue
            assert (page.parent / unquote(src)).is_file(), f"{page.name}: missing image {src}"


def test_internal_links_resolve(site):
    ids = {p.name: set(re.findall(r'\sid="([^"]+)"', p.read_text())) for p in _pages(site)}
    for page in _pages(site):
        text = page.read_text()
        assert not re.search(r'href="\d\d_[^"]*\.ipynb', text), f"{page.name} links a notebook"
        for href in re.findall(r'href="([^"]+)"', text):
            if re.match(r"^[a-z]+:", href) or href.startswith("//"):
                continue  # external (the reader's browser fetches these)
            target, _, frag = href.partition("#")
            name = target or page.name
            assert name in ids, f"{page.name}: broken link {href}"
            if frag:
                assert {frag, unquote(frag)} & ids[name], f"{page.name}: no anchor for {href}"


def test_navigation_links_each_chapter_to_its_neighbours(site):
    manifest = json.loads((site / "pages.json").read_text())
    for i, entry in enumerate(manifest):
        text = (site / entry["page"]).read_text()
        assert text.count('class="rlbook-nav"') == 2, entry["page"]
        if i + 1 < len(manifest):
            assert f'href="{manifest[i + 1]["page"]}"' in text
        if i > 0:
            assert f'href="{manifest[i - 1]["page"]}"' in text


def test_index_links_every_chapter(site):
    index = (site / "index.html").read_text()
    for p in _pages(site):
        if p.name != "index.html":
            assert f'href="{p.name}"' in index, f"index does not link {p.name}"


def test_link_rewriting_keeps_fragments_and_unknown_targets():
    body = 'a href="02_mfos.ipynb#Meta-state" b href="00_index.ipynb" c href="99_x.ipynb"'
    out = book_html.rewrite_links(body, {"02_mfos", "00_index"})
    assert out == 'a href="02_mfos.html#Meta-state" b href="index.html" c href="99_x.ipynb"'
