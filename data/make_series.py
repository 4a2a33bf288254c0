"""Copy the public-domain ``co2`` and ``sunspots`` series out of statsmodels into data/ (run once).

    pip install -c constraints.txt statsmodels   # only for this script; rlbook never imports it
    python data/make_series.py

Writes ``data/co2.csv`` (weekly Mauna Loa CO2, ppmv, empty cell = missing week), ``data/sunspots.csv``
(yearly sunspot activity) and one provenance JSON per series (source, licence note, statsmodels version,
sha256 of the CSV, git commit of this script). ``rlbook.np.data.load_series`` reads the CSVs and checks the
sha256; ``tests/test_np.py`` checks them too.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import statsmodels
from statsmodels.datasets import co2, sunspots

DATA = Path(__file__).resolve().parent


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _write(name: str, header: str, rows: list[str], module, note: str) -> None:
    path = DATA / f"{name}.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    record = {
        "series": name,
        "file": f"data/{name}.csv",
        "sha256": sha,
        "rows": len(rows),
        "columns": header.split(","),
        "note": note,
        "provenance": {
            "script": "data/make_series.py",
            "source_package": "statsmodels",
            "source_version": statsmodels.__version__,
            "source_module": module.__name__,
            "licence": module.COPYRIGHT.strip(),
            "original_source": module.SOURCE.strip(),
            "commit": _commit(),
        },
    }
    (DATA / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"{path.name}: {len(rows)} rows, sha256 {sha}")


def main() -> None:
    d = co2.load_pandas().data["co2"]
    rows = [f"{t.strftime('%Y-%m-%d')},{'' if v != v else f'{v:.1f}'}" for t, v in d.items()]
    _write("co2", "date,co2_ppmv", rows, co2, "weekly; empty co2_ppmv = missing week (NaN)")
    s = sunspots.load_pandas().data
    rows = [f"{int(y)},{v:g}" for y, v in zip(s["YEAR"], s["SUNACTIVITY"], strict=True)]
    _write("sunspots", "year,sunactivity", rows, sunspots, "yearly sunspot activity, 1700-2008")


if __name__ == "__main__":
    main()
