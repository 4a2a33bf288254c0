"""The reproduction ledger reads the chapters' printed claims tables."""

from pathlib import Path

from rlbook.book import ledger
from rlbook.book.nb import table

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def test_a_printed_table_round_trips():
    rows = [
        {
            "claim": "LOLA cooperates",
            "paper": "-1.06 (Fig. 2)",
            "rlbook": "-1.08",
            "verdict": "reproduced",
        },
        {
            "claim": "a long claim that overflows",
            "paper": "x",
            "rlbook": "y",
            "verdict": "not at this scale",
        },
    ]
    text = "noise before\n" + table(rows) + "\n\nafter"
    (parsed,) = ledger.parse_tables(text)
    assert parsed == rows


def test_tables_without_a_claim_column_are_not_claims():
    assert ledger.parse_tables(table([{"game": "chicken", "verdict": "coincidental"}])) == []


def test_verdicts_are_grouped():
    cases = {
        "reproduced": "reproduced",
        "reproduced (h=2, 3; not h=4)": "reproduced",
        "SaSa: reproduced; SaGa: not at this scale": "partly",
        "not at this step size (memory-one); reproduced (memoryless)": "partly",
        "not at this scale": "not at this scale",
        "not in force at these constants": "not at this scale",
        "contradicted": "contradicted",
        "not checked (own data)": "untested",
        "coincidental": "other",
    }
    for verdict, kind in cases.items():
        assert ledger.classify(verdict) == kind, verdict


def test_the_book_has_a_ledger():
    rows = ledger.ledger(NB_DIR)
    assert rows and all(r["claim"] and r["verdict"] for r in rows)
    total = ledger.counts(rows)["total"]
    assert sum(total.values()) == len(rows)
