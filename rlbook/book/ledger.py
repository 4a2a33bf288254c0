"""The reproduction ledger: every chapter's "paper says / rlbook measures" rows, read from the chapters'
executed outputs (the fixed-width tables ``rlbook.book.nb.table`` prints), so no claim is typed twice.

A claims table is any printed table with ``claim`` and ``verdict`` columns. Verdicts are grouped by their
words: ``reproduced...`` -> reproduced; a verdict that also says ``not`` somewhere (``SaSa: reproduced;
SaGa: not at this scale``) -> partly; ``contradicted...`` -> contradicted; one that says ``not`` (``not at
this scale``, ``not in force ...``) -> not at this scale; ``not checked...`` / ``untested`` -> untested;
else other.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

KINDS = ("reproduced", "partly", "not at this scale", "contradicted", "untested", "other")


def _spans(rule: str) -> list[tuple[int, int]]:
    """Column spans from a table's rule line of dash runs separated by two spaces."""
    return [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]


def _cut(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """Split a fixed-width row at the columns' starts (a cell may overflow its rule, never the next)."""
    starts = [s for s, _ in spans] + [None]
    return [line[a:b].strip() for a, b in zip(starts[:-1], starts[1:], strict=True)]


def parse_tables(text: str) -> list[list[dict]]:
    """Every table in ``text`` whose header has ``claim`` and ``verdict`` columns, as row dicts."""
    lines = text.splitlines()
    tables = []
    for i in range(len(lines) - 1):
        header, rule = lines[i], lines[i + 1]
        if not {"claim", "verdict"} <= set(header.split()) or not re.fullmatch(
            r"-+(  -+)*", rule.strip()
        ):
            continue
        spans = _spans(rule)
        names = _cut(header, spans)
        rows = []
        for line in lines[i + 2 :]:
            if not line.strip():
                break
            rows.append(dict(zip(names, _cut(line, spans), strict=True)))
        tables.append(rows)
    return tables


def classify(verdict: str) -> str:
    v = verdict.strip().lower()
    if v.startswith(("not checked", "untested")):
        return "untested"
    says_not = re.search(r"\bnot\b", v) is not None
    if "reproduced" in v and says_not and not v.startswith("reproduced ("):
        return "partly"
    if v.startswith("reproduced"):
        return "reproduced"
    if v.startswith("contradicted"):
        return "contradicted"
    if says_not:
        return "not at this scale"
    return "other"


def _outputs_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "text/plain" in out.get("data", {}):
                parts.append(out["data"]["text/plain"])
    return "\n".join(parts)


def chapter_rows(path: str | Path) -> list[dict]:
    """The claims rows of one executed chapter: chapter, claim, paper, rlbook, verdict, kind."""
    path = Path(path)
    rows = []
    for table in parse_tables(_outputs_text(path)):
        for r in table:
            paper = next((v for k, v in r.items() if "paper" in k.lower()), "")
            rows.append(
                {
                    "chapter": path.stem.split("_")[0],
                    "claim": r.get("claim", ""),
                    "paper": paper,
                    "rlbook": r.get("rlbook", ""),
                    "verdict": r["verdict"],
                    "kind": classify(r["verdict"]),
                }
            )
    return rows


def ledger(notebooks_dir: str | Path) -> list[dict]:
    """Every chapter's claims rows, in chapter order."""
    paths = sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    return [row for p in paths if not p.name.startswith("00_") for row in chapter_rows(p)]


def counts(rows: list[dict]) -> dict[str, dict[str, int]]:
    """``{chapter: {kind: count}}`` plus a ``"total"`` entry."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["chapter"], dict.fromkeys(KINDS, 0))[r["kind"]] += 1
    out["total"] = {k: sum(n[k] for n in out.values()) for k in KINDS}
    return out
