"""``python -m insights import``: an order export (CSV, CSV.gz or Parquet) into the lake, with a data-quality report.

Every row read ends up either kept or set aside with exactly one reason (the first rule it breaks, in the
order of :data:`REASONS`), so the report's counts add up to the rows read. The rules and why: docs/importer.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from insights.data.event_import import EventImport, event_columns, import_event_file
from insights.data.mapping import resolve_mapping
from insights.data.rules import (
    CUSTOMER_COLUMNS,
    MAPPABLE_ORDER_COLUMNS,
    PRESETS,
    REASONS,
    REQUIRED,
    ImportRules,
    clean_customers,
    clean_orders,
    normalize_customer_ids,
    text_values,
)
from insights.data.sources import Source, read_source
from insights.errors import ImportFailed
from insights.pseudonym import Pseudonymizer

__all__ = ["PRESETS", "REASONS", "import_files", "format_report", "parse_maps",
           "resolve_mapping", "pseudonymize_ids"]


def _counts(reasons: pd.Series, malformed: int, rows_read: int) -> dict[str, Any]:
    counts = reasons.value_counts().to_dict()
    if malformed:
        counts["malformed_line"] = malformed
    set_aside = {r: int(counts[r]) for r in REASONS if counts.get(r)}
    set_aside.update({r: int(c) for r, c in counts.items() if r not in set_aside and r not in REASONS})
    return {"rows_read": rows_read, "rows_kept": rows_read - sum(set_aside.values()), "set_aside": set_aside}


def _set_aside_frame(source: Source, reasons: pd.Series) -> pd.DataFrame:
    aside = source.frame[reasons.notna().to_numpy()].astype("string")
    aside.insert(0, "reason", reasons[reasons.notna()])
    aside.insert(1, "source_row", aside.index.astype("int64") + 1)
    bad = pd.DataFrame({"reason": "malformed_line", "source_row": pd.array([r for r, _ in source.malformed],
                        dtype="Int64"), "raw_text": [t for _, t in source.malformed]})
    return pd.concat([aside, bad], ignore_index=True) if len(bad) else aside.reset_index(drop=True)


def import_files(orders_file: str | Path, *, lake: str | Path, customers_file: str | Path | None = None,
                 preset: str | None = None, maps: Mapping[str, str] | None = None,
                 rules: ImportRules | None = None, now: datetime | None = None,
                 currency: str | None = None, pseudonyms: Pseudonymizer | None = None,
                 keep_emails: bool = True, reviews_file: str | Path | None = None,
                 engagement_file: str | Path | None = None) -> dict[str, Any]:
    """Import ``orders_file`` (and the customers, reviews and engagement files) into a new lake at ``lake``.

    Returns the report. The lake is replaced whole: a table whose file is not given is not in the new lake.

    ``currency`` (ISO 4217, default: the preset's) is recorded in the report, where the refresh finds it.
    ``pseudonyms`` (INSIGHTS_PSEUDONYMIZE): every customer id written, set-aside lines included, is its
    pseudonym; ``keep_emails`` False writes no email at all (SECURITY.md, "Pseudonymous ids").

    Raises :class:`ImportFailed` (and leaves any existing lake untouched) when a file cannot be read or the
    mapping names a column that is not there.
    """
    from insights.data.lake import write_lake

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    chosen = PRESETS[preset] if preset else None
    rules = rules or (chosen.rules if chosen else ImportRules())
    try:
        ZoneInfo(rules.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFailed(f"unknown time zone {rules.timezone!r} (use an IANA name such as Europe/London)") from None
    maps = dict(maps or {})
    orders_src = read_source(orders_file)
    customers_src = read_source(customers_file) if customers_file else None
    event_files = {t: f for t, f in (("reviews", reviews_file), ("engagement", engagement_file)) if f}
    events: dict[str, EventImport] = {t: import_event_file(t, f, maps, rules, now=now) for t, f in event_files.items()}
    known = set(orders_src.columns) | set(customers_src.columns if customers_src else [])
    known |= {c for e in events.values() for c in e.source_columns}
    unknown_dest = sorted({d for d in maps.values() if d not in MAPPABLE_ORDER_COLUMNS and d not in CUSTOMER_COLUMNS
                           and d not in event_columns()})
    if unknown_dest:
        raise ImportFailed(f"--map destination(s) not in the data contract: {', '.join(unknown_dest)} "
                           f"(orders: {', '.join(MAPPABLE_ORDER_COLUMNS)}; customers: {', '.join(CUSTOMER_COLUMNS)}; "
                           f"reviews and engagement: {', '.join(sorted(event_columns()))})")
    absent = sorted(s for s in maps if s not in known)
    if absent:
        raise ImportFailed(f"--map names column(s) in no input file: {', '.join(absent)} "
                           f"(orders columns: {', '.join(orders_src.columns)})")
    order_maps = {s: d for s, d in maps.items() if s in orders_src.columns and d in MAPPABLE_ORDER_COLUMNS}
    mapping = resolve_mapping(orders_src.columns, MAPPABLE_ORDER_COLUMNS, chosen.mapping if chosen else {}, order_maps,
                              required=REQUIRED, what=str(orders_file))
    orders = clean_orders(orders_src.frame, mapping, rules, now=now)
    if orders.kept.empty:
        counts = _counts(orders.reasons, len(orders_src.malformed), len(orders_src.frame) + len(orders_src.malformed))
        raise ImportFailed(f"{orders_file}: no valid order line ({counts['rows_read']:,} read, set aside: "
                           f"{counts['set_aside'] or 'none'}); the lake was left as it was")
    report: dict[str, Any] = {
        "imported_at": now.isoformat(timespec="seconds"),
        "source": {"orders_file": str(orders_file), "format": orders_src.format, "encoding": orders_src.encoding,
                   "non_utf8_rows": orders_src.non_utf8_rows, "preset": preset, "mapping": mapping},
        "rules": {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in asdict(rules).items()},
        "currency": (currency or (chosen.currency if chosen else None) or "").upper() or None,
        "orders": {**_counts(orders.reasons, len(orders_src.malformed),
                             len(orders_src.frame) + len(orders_src.malformed)), **orders.notes},
        "outliers": orders.outliers,
    }
    report["in_file"] = _in_file(orders_src.frame, mapping)
    report["kept"] = _summary(orders.kept)
    customers = None
    if customers_src is not None:
        cmaps = {s: d for s, d in maps.items() if s in customers_src.columns and d in CUSTOMER_COLUMNS}
        cmapping = resolve_mapping(customers_src.columns, CUSTOMER_COLUMNS, {}, cmaps, required=("customer_id",),
                                   what=str(customers_file))
        cleaned = clean_customers(customers_src.frame, cmapping, rules)
        customers = cleaned.kept
        report["customers_file"] = {"file": str(customers_file), "format": customers_src.format,
                                    "encoding": customers_src.encoding, "mapping": cmapping,
                                    **_counts(cleaned.reasons, len(customers_src.malformed),
                                              len(customers_src.frame) + len(customers_src.malformed)),
                                    **cleaned.notes}
    aside = _set_aside_frame(orders_src, orders.reasons)
    if pseudonyms is not None:
        pseudonymize_ids(orders.kept, "customer_id", pseudonyms)
        if "customer_id" in mapping and mapping["customer_id"] in aside:
            pseudonymize_ids(aside, mapping["customer_id"], pseudonyms)
        if customers is not None:
            pseudonymize_ids(customers, "customer_id", pseudonyms)
        for e in events.values():
            pseudonymize_ids(e.kept, "customer_id", pseudonyms)
            if e.report["mapping"]["customer_id"] in e.aside:
                pseudonymize_ids(e.aside, e.report["mapping"]["customer_id"], pseudonyms)
        report["pseudonymized"] = True
    if customers is not None and not keep_emails and "email" in customers:
        customers = customers.drop(columns=["email"])
    report["emails_kept"] = keep_emails and customers is not None and "email" in customers

    report.update({t: e.report for t, e in events.items()})

    def extra(folder: Path) -> None:
        (folder / "_set_aside").mkdir()
        aside.to_parquet(folder / "_set_aside" / "orders.parquet", index=False)
        for t, e in events.items():
            e.aside.to_parquet(folder / "_set_aside" / f"{t}.parquet", index=False)
        report["seconds"] = round(time.perf_counter() - started, 2)
        (folder / "_import_report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")

    report["lake"] = str(lake)
    write_lake(lake, orders.kept, customers, extra=extra, events={t: e.kept for t, e in events.items()})
    return report


def pseudonymize_ids(frame: pd.DataFrame, column: str, pseudonyms: Pseudonymizer) -> None:
    """Replace ``frame[column]``'s ids by their pseudonyms in place (nulls, guest lines, stay null)."""
    ids = frame[column]
    known = ids.notna()
    frame[column] = ids.astype("object").where(~known, ids[known].astype(str).map(pseudonyms.pseudonym))


def _in_file(frame: pd.DataFrame, mapping: Mapping[str, str]) -> dict[str, int | None]:
    """Distinct values among every row read, before any rule (the figures a data set publishes)."""
    def distinct(column: str, normalize=text_values) -> int | None:
        return int(normalize(frame[mapping[column]]).nunique()) if column in mapping else None

    return {"orders": distinct("order_id"), "customers": distinct("customer_id", normalize_customer_ids),
            "products": distinct("product_id"), "countries": distinct("country")}


def _summary(kept: pd.DataFrame) -> dict[str, Any]:
    ts = kept["order_ts"]
    return {
        "order_lines": len(kept), "orders": int(kept["order_id"].nunique()),
        "customers": int(kept["customer_id"].nunique()),
        "products": int(kept["product_id"].nunique()),
        "guest_lines": int(kept["customer_id"].isna().sum()), "return_lines": int((kept["quantity"] < 0).sum()),
        "countries": int(kept["country"].nunique()) if "country" in kept else None,
        "first_order_ts": ts.min().isoformat() if len(kept) else None,
        "last_order_ts": ts.max().isoformat() if len(kept) else None,
        # calendar days from the first order's day to the last's, both included; days_with_orders those with lines
        "days": (ts.max().date() - ts.min().date()).days + 1 if len(kept) else 0,
        "days_with_orders": int(ts.dt.date.nunique()) if len(kept) else 0,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The data-quality report as text: the counts, which add up to the rows read."""
    o, k = report["orders"], report["kept"]
    rows = [("rows read", o["rows_read"]), ("rows kept", o["rows_kept"])]
    rows += [(f"set aside: {r}", c) for r, c in o["set_aside"].items()]
    rows.append(("kept + set aside", o["rows_kept"] + sum(o["set_aside"].values())))
    width = max(len(label) for label, _ in rows)
    lines = [f"imported {report['source']['orders_file']} ({report['source']['format']}, "
             f"{report['source']['encoding']}) into {report['lake']}"]
    lines += [f"  {label:<{width}} {count:>10,}" for label, count in rows]
    f = report["in_file"]
    lines.append("in the file: " + ", ".join(f"{v:,} {name}" for name, v in f.items() if v is not None))
    lines.append(f"kept: {k['order_lines']:,} lines, {k['orders']:,} orders, {k['customers']:,} customers, "
                 f"{k['products']:,} products, {k['countries'] or 0:,} countries, "
                 f"{k['guest_lines']:,} guest lines, {k['return_lines']:,} return lines, "
                 f"{k['first_order_ts']} .. {k['last_order_ts']} UTC ({k['days']:,} calendar days, "
                 f"{k['days_with_orders']:,} with orders)")
    lines += _threshold_lines(report)
    if "customers_file" in report:
        c = report["customers_file"]
        lines.append(f"customers file: {c['rows_read']:,} read, {c['rows_kept']:,} kept, set aside {c['set_aside']}")
    for t in ("reviews", "engagement"):
        if t in report:
            e = report[t]
            lines.append(f"{t} file: {e['rows_read']:,} read, {e['rows_kept']:,} kept, set aside {e['set_aside']} "
                         f"({e['customers']:,} customers, {e['first_ts']} .. {e['last_ts']} UTC)")
    if report.get("seconds") is not None:
        lines.append(f"in {report['seconds']:.1f} s; report saved as {report['lake']}/_import_report.json")
    return "\n".join(lines)


def _threshold_lines(report: Mapping[str, Any]) -> list[str]:
    """The thresholds the relative rules used and how the products were judged (docs/importer.md)."""
    r, out = report["rules"], []
    for key, reason in (("quantity", "absurd_quantity"), ("price", "absurd_price")):
        o = report.get("outliers", {}).get("quantity" if key == "quantity" else "unit_price", {})
        limit = o.get("population_limit")
        out.append(f"{reason} (--{key}-mads {r[f'{key}_mads']:g}, --{key}-min-ratio {r[f'{key}_min_ratio']:g}, "
                   f"--min-product-lines {r['min_product_lines']}): above the product's median x "
                   f"max(exp({r[f'{key}_mads']:g} MAD), {r[f'{key}_min_ratio']:g}); "
                   f"{o.get('products_judged_on_own_lines', 0):,} products judged on their own lines, "
                   f"{o.get('products_judged_on_population', 0):,} on the population (limit "
                   f"{'none' if limit is None else f'{limit:,.6g}'}); set aside {o.get('set_aside', 0):,}")
    out.append(f"date_too_old (--min-date {r['min_date']}): lines before that day")
    prefixes = ("promotion_", "list_price_", "on_promotion_", "discount_")
    notes = {k: v for k, v in report["orders"].items() if k.startswith(prefixes)}
    if notes:
        out.append("promotions: " + ", ".join(f"{k} {v:,}" for k, v in notes.items()))
    return out


def parse_maps(items: Sequence[str]) -> dict[str, str]:
    """``["A=order_id", ...]`` -> {"A": "order_id"}; raises ImportFailed on an item without '='."""
    out = {}
    for item in items:
        src, sep, dest = item.partition("=")
        if not sep or not src.strip() or not dest.strip():
            raise ImportFailed(f"--map {item!r} is not SRC=DEST")
        out[src.strip()] = dest.strip()
    return out
