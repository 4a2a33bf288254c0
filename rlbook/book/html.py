"""The static HTML edition of the book: ``python -m rlbook.book.html [OUT_DIR]`` (``make html``).

Built from the committed outputs (nothing is executed), one page per notebook with nbconvert's ``lab``
template, extended by a navigation bar (contents, previous, next chapter). Links between notebooks
(``02_mfos.ipynb#section``) become links between pages. Figures are embedded in the pages as data URIs;
widgets need a kernel and are not rendered: each has a static figure beside it in the chapter.

Why nbconvert and not Jupyter Book: it is already installed with JupyterLab, builds offline (the
MyST-based Jupyter Book 2 fetches themes from the network at build time), renders exactly the stored
outputs nbval checks, and takes about a second a chapter.
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"

TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_css -%}{{ super() }}
<style>
nav.rlbook-nav { display: flex; justify-content: space-between; gap: 1em; max-width: 1100px;
  margin: 0.5em auto; padding: 0.4em 1em; font-family: sans-serif; font-size: 0.95em;
  border-top: 1px solid #ccc; border-bottom: 1px solid #ccc; }
nav.rlbook-nav a { text-decoration: none; }
</style>
{%- endblock html_head_css -%}
{%- block body_header -%}{{ super() }}{{ resources.rlbook_nav }}{%- endblock body_header -%}
{% block body_footer %}{{ resources.rlbook_nav }}{{ super() }}{% endblock body_footer %}
"""

_IPYNB_LINK = re.compile(r'href="(\d\d_[A-Za-z0-9_]+)\.ipynb(#[^"]*)?"')


@dataclass(frozen=True)
class Page:
    source: Path
    title: str

    @property
    def html_name(self) -> str:
        return "index.html" if self.source.stem.startswith("00_") else self.source.stem + ".html"


def title_of(nb) -> str:
    """The chapter's title: the first markdown cell's ``# Title`` line."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError("notebook has no '# Title' line in a markdown cell")


def pages(notebooks_dir: Path = NOTEBOOKS) -> list[Page]:
    """Every notebook, index first, in chapter order."""
    paths = sorted(notebooks_dir.glob("[0-9][0-9]_*.ipynb"))
    if not paths or not paths[0].stem.startswith("00_"):
        raise ValueError(f"{notebooks_dir} has no 00_index.ipynb")
    return [Page(p, title_of(nbformat.read(p, as_version=4))) for p in paths]


def nav_bar(all_pages: list[Page], i: int) -> str:
    def link(p: Page, label: str) -> str:
        return f'<a href="{p.html_name}">{label}</a>'

    prev = link(all_pages[i - 1], "&larr; " + html.escape(all_pages[i - 1].title)) if i > 0 else ""
    nxt = (
        link(all_pages[i + 1], html.escape(all_pages[i + 1].title) + " &rarr;")
        if i + 1 < len(all_pages)
        else ""
    )
    home = link(all_pages[0], "Contents") if i > 0 else ""
    return f'<nav class="rlbook-nav"><span>{prev}</span><span>{home}</span><span>{nxt}</span></nav>'


def rewrite_links(body: str, known: set[str]) -> str:
    """``NN_x.ipynb#frag`` -> ``NN_x.html#frag`` (the index page for ``00_*``) for notebooks in ``known``."""

    def sub(m: re.Match) -> str:
        stem, frag = m.group(1), m.group(2) or ""
        if stem not in known:
            return m.group(0)
        name = "index" if stem.startswith("00_") else stem
        return f'href="{name}.html{frag}"'

    return _IPYNB_LINK.sub(sub, body)


def build(out_dir: Path, notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Write the HTML edition into ``out_dir``; returns the pages written (index first)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"rlbook.html.j2": TEMPLATE})],
        template_file="rlbook.html.j2",
    )
    all_pages = pages(notebooks_dir)
    known = {p.source.stem for p in all_pages}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, page in enumerate(all_pages):
        nb = nbformat.read(page.source, as_version=4)
        body, _ = exporter.from_notebook_node(
            nb, resources={"rlbook_nav": nav_bar(all_pages, i), "metadata": {"name": page.title}}
        )
        target = out_dir / page.html_name
        target.write_text(rewrite_links(body, known), encoding="utf-8")
        written.append(target)
    manifest = [
        {"page": p.html_name, "title": p.title, "notebook": p.source.name} for p in all_pages
    ]
    (out_dir / "pages.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "_build" / "html"
    t0 = time.perf_counter()
    written = build(out)
    print(f"wrote {len(written)} pages to {out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
