"""The seeded tree of the file-store suite: a small analytics project's working folder.

The tree is fixed (the same bytes for every seed) so that task templates can state facts about it — the revenue of a
region, the owner of a feature flag, the line a TODO sits on — and the gold answer stays true. Files are short, but
realistic in kind: markdown notes, a CSV export, JSON config, a Python module with TODO markers.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SEED_FILES", "write_seed_tree"]

_SALES_ROWS = [
    ("2024-01", "EMEA", 1240, 186000),
    ("2024-01", "AMER", 1810, 271500),
    ("2024-01", "APAC", 960, 134400),
    ("2024-02", "EMEA", 1315, 197250),
    ("2024-02", "AMER", 1702, 255300),
    ("2024-02", "APAC", 1020, 142800),
    ("2024-03", "EMEA", 1488, 223200),
    ("2024-03", "AMER", 1936, 290400),
    ("2024-03", "APAC", 1105, 154700),
]

_SALES_CSV = "month,region,units,revenue_usd\n" + "".join(f"{m},{r},{u},{v}\n" for m, r, u, v in _SALES_ROWS)

_SETTINGS = {
    "service": "atlas-reporting",
    "environment": "staging",
    "database": {"host": "db.staging.internal", "port": 5432, "name": "atlas", "pool_size": 8},
    "export": {"format": "parquet", "schedule": "0 6 * * *", "retention_days": 90},
    "log_level": "INFO",
}

_FLAGS = {
    "flags": [
        {"name": "new_dashboard", "enabled": True, "owner": "priya.nair@atlas.example", "rollout_percent": 50},
        {"name": "csv_v2_export", "enabled": False, "owner": "tom.becker@atlas.example", "rollout_percent": 0},
        {"name": "apac_forecasts", "enabled": True, "owner": "mei.lin@atlas.example", "rollout_percent": 100},
    ]
}

_CUSTOMERS = [
    {"id": "ACC-001", "name": "Northwind Traders", "region": "EMEA", "plan": "enterprise", "seats": 120},
    {"id": "ACC-002", "name": "Contoso Retail", "region": "AMER", "plan": "team", "seats": 35},
    {"id": "ACC-003", "name": "Tailspin Toys", "region": "APAC", "plan": "enterprise", "seats": 80},
    {"id": "ACC-004", "name": "Fabrikam Foods", "region": "EMEA", "plan": "starter", "seats": 8},
]

SEED_FILES: dict[str, str] = {
    "README.md": (
        "# Atlas reporting\n\n"
        "Nightly sales reporting for the Atlas analytics team.\n\n"
        "- `data/` holds the raw exports (CSV, JSON).\n"
        "- `config/` holds service settings and feature flags.\n"
        "- `reports/` holds the quarterly summaries.\n"
        "- `notes/` holds meeting notes and the team's todo list.\n\n"
        "Contact: priya.nair@atlas.example\n"
    ),
    "docs/architecture.md": (
        "# Architecture\n\n"
        "The pipeline reads `data/sales_2024_q1.csv`, aggregates revenue per region and month,\n"
        "and writes a parquet export every morning at 06:00 UTC (see `config/settings.json`).\n\n"
        "## Components\n\n"
        "1. Loader: parses the CSV export and validates column names.\n"
        "2. Aggregator: sums units and revenue per region.\n"
        "3. Exporter: writes parquet files, kept for 90 days.\n"
    ),
    "docs/onboarding.md": (
        "# Onboarding\n\n"
        "1. Ask Priya for staging database access.\n"
        "2. Read docs/architecture.md.\n"
        "3. Run the pipeline locally with `python src/pipeline.py --dry-run`.\n"
        "4. Pick a ticket from notes/todo.txt.\n"
    ),
    "notes/meeting-2024-04-02.md": (
        "# Planning meeting, 2 April 2024\n\n"
        "Attendees: Priya Nair, Tom Becker, Mei Lin\n\n"
        "## Decisions\n\n"
        "- Q1 revenue target was met in AMER and EMEA; APAC fell short.\n"
        "- The csv_v2_export flag stays off until the schema review is done.\n"
        "- Mei owns the APAC forecast rollout.\n\n"
        "## Action items\n\n"
        "- Tom: finish the schema review by 19 April.\n"
        "- Priya: publish the Q1 summary in reports/.\n"
    ),
    "notes/todo.txt": (
        "[ ] migrate exporter to parquet v2\n"
        "[x] add APAC region to the loader\n"
        "[ ] document retention policy\n"
        "[ ] fix rounding in revenue totals\n"
    ),
    "data/sales_2024_q1.csv": _SALES_CSV,
    "data/customers.json": json.dumps({"customers": _CUSTOMERS}, indent=2) + "\n",
    "config/settings.json": json.dumps(_SETTINGS, indent=2) + "\n",
    "config/feature_flags.json": json.dumps(_FLAGS, indent=2) + "\n",
    "reports/q1_summary.md": (
        "# Q1 2024 summary\n\n"
        "Total revenue: 1,855,550 USD across three regions.\n\n"
        "| Region | Units | Revenue (USD) |\n"
        "|--------|-------|---------------|\n"
        "| AMER   | 5448  | 817,200       |\n"
        "| EMEA   | 4043  | 606,450       |\n"
        "| APAC   | 3085  | 431,900       |\n\n"
        "APAC missed its target of 450,000 USD.\n"
    ),
    "src/pipeline.py": (
        '"""Aggregate the quarterly sales export per region."""\n\n'
        "import csv\n"
        "from collections import defaultdict\n\n\n"
        "def load(path):\n"
        "    with open(path, newline='') as fh:\n"
        "        return list(csv.DictReader(fh))\n\n\n"
        "def aggregate(rows):\n"
        "    # TODO: use Decimal; float totals drift by a cent on large exports\n"
        "    totals = defaultdict(float)\n"
        "    for row in rows:\n"
        "        totals[row['region']] += float(row['revenue_usd'])\n"
        "    return dict(totals)\n\n\n"
        "def main():\n"
        "    # TODO: read the path from config/settings.json\n"
        "    print(aggregate(load('data/sales_2024_q1.csv')))\n"
    ),
}


def write_seed_tree(root: Path) -> None:
    """Write the seeded tree under ``root`` (which must exist and be empty)."""
    for rel, text in SEED_FILES.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
