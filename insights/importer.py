"""``python -m insights import``: an order export (CSV, CSV.gz or Parquet) into the lake, with a data-quality report.

Every row read ends up either kept or set aside with exactly one reason (the first rule it breaks, in the
order of :data:`REASONS`), so the report's counts add up to the rows read. The rules and why: docs/importer.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from insights.config import Settings
from insights.import_source import ImportFailed, Source, read_source

__all__ = ["ImportFailed", "ImportRules", "PRESETS", "REASONS", "import_files", "clean_orders", "main"]

# Set-aside reasons, in the order they are tested: a row gets the first one it breaks.
REASONS = (
    "malformed_line",          # wrong number of fields (CSV): nothing in it can be trusted
    "missing_order_id",
    "missing_product_id",
    "unparseable_date",
    "unparseable_quantity",    # not an integer
    "unparseable_price",       # not a finite number
    "non_product_code",        # postage, fees, discounts, manual adjustments, vouchers (preset list)
    "zero_quantity",
    "nonpositive_price",       # zero (free samples, stock adjustments) or negative (bad-debt write-offs)
    "absurd_quantity",         # |quantity| > max_abs_quantity
    "absurd_price",            # unit_price > max_unit_price
    "date_too_old",            # before min_date
    "future_date",             # after the import time
    "duplicate_line",          # an exact copy of an earlier kept line (every source field equal)
)

ORDER_COLUMNS = ("order_id", "customer_id", "order_ts", "product_id", "quantity", "unit_price", "category", "country")
CUSTOMER_COLUMNS = ("customer_id", "email", "created_at")
_REQUIRED = ("order_id", "order_ts", "product_id", "quantity", "unit_price")
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class ImportRules:
    """The rules a row must pass; thresholds documented in docs/importer.md."""

    timezone: str = "UTC"                     # zone of timestamps written without an offset
    non_product_codes: frozenset[str] = frozenset()   # upper-cased product ids that are not products
    non_product_pattern: str | None = None    # regex (case-insensitive, full match) for more of them
    date_formats: tuple[str, ...] = ()        # tried, in order, on values that are not ISO 8601
    max_abs_quantity: int = 10_000
    max_unit_price: float = 100_000.0
    min_date: str = "1990-01-01"
    keep_duplicates: bool = False


@dataclass(frozen=True)
class Preset:
    mapping: Mapping[str, str]
    rules: ImportRules
    description: str = ""


PRESETS: dict[str, Preset] = {
    "online-retail": Preset(
        description="UCI Online Retail (Chen, Sain & Guo 2012): a UK gift wholesaler's invoice lines, UK local time",
        mapping={"InvoiceNo": "order_id", "StockCode": "product_id", "Quantity": "quantity",
                 "InvoiceDate": "order_ts", "UnitPrice": "unit_price", "CustomerID": "customer_id",
                 "Country": "country"},
        rules=ImportRules(
            timezone="Europe/London",
            # Measured on the file: postage (POST, DOT), carriage (C2), manual entries (M, m), discounts (D),
            # samples (S), bank/Amazon fees and charity commission, bad-debt adjustments (B), cushion pads sold at
            # 0.001 (PADS); ADJUST/TEST codes appear in the 2009-2010 sequel of the data set.
            non_product_codes=frozenset({"POST", "DOT", "C2", "M", "D", "S", "B", "BANK CHARGES", "AMAZONFEE",
                                         "CRUK", "PADS", "ADJUST", "ADJUST2", "TEST001", "TEST002"}),
            non_product_pattern=r"gift_\d{4}_\d+",   # gift vouchers: money, not demand
            date_formats=("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"),  # the spreadsheet-converted copies
        ),
    ),
}


@dataclass
class Cleaned:
    """One table after the rules: the kept rows (contract columns) and a reason per source row."""

    kept: pd.DataFrame
    reasons: pd.Series          # aligned with the source rows; <NA> where kept
    notes: dict[str, int] = field(default_factory=dict)


def resolve_mapping(columns: Sequence[str], contract: Sequence[str], preset: Mapping[str, str],
                    user: Mapping[str, str], *, what: str) -> dict[str, str]:
    """contract column -> source column. User maps override the preset (by source or by destination)."""
    by_dest = {dest: src for src, dest in preset.items() if dest in contract}
    for src, dest in user.items():
        if dest not in contract:
            continue
        by_dest = {d: s for d, s in by_dest.items() if s != src}
        by_dest[dest] = src
    for dest in contract:  # a column already named like the contract maps to itself
        if dest not in by_dest and dest in columns:
            by_dest[dest] = dest
    missing = sorted({src for src in by_dest.values() if src not in columns})
    if missing:
        raise ImportFailed(f"{what}: the mapping names column(s) not in the file: {', '.join(missing)} "
                           f"(columns: {', '.join(columns)})")
    return by_dest


def _text(values: pd.Series) -> pd.Series:
    """Trimmed strings; blanks become <NA>. Integral floats (a numeric id column) print without '.0'."""
    if pd.api.types.is_float_dtype(values):
        ints = values.where(np.isfinite(values) & (values == np.floor(values)))
        out = ints.astype("Int64").astype("string").where(ints.notna(), values.astype("string"))
    else:
        out = values.astype("string")
    out = out.str.strip()
    return out.mask(out == "")


def _parse_ts(values: pd.Series, rules: ImportRules) -> pd.Series:
    """Timestamps in UTC. Naive values are wall-clock time in ``rules.timezone``; offsets are honoured."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if pd.api.types.is_datetime64_dtype(values):
        return _localize(values.astype("datetime64[us]"), rules.timezone)
    text = _text(values)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    has_offset = text.str.contains(_OFFSET, regex=True, na=False)
    if has_offset.any():
        out[has_offset] = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
    naive = text.notna() & ~has_offset
    if naive.any():
        parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        for fmt in rules.date_formats:
            todo = parsed.isna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(text[naive][todo], format=fmt, errors="coerce")
        out[naive] = _localize(parsed.astype("datetime64[us]"), rules.timezone)
    return out


def _localize(naive: pd.Series, tz: str) -> pd.Series:
    # Clocks going forward: a wall time that never existed moves to the first valid instant. Clocks going back:
    # an ambiguous wall time is read as the first (summer-time) occurrence. Documented in docs/importer.md.
    local = naive.dt.tz_localize(tz, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward")
    return local.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = _text(values).str.replace(",", "", regex=False)  # "1,250.00" thousands separators
    return pd.to_numeric(text, errors="coerce").astype("float64")


def clean_orders(raw: pd.DataFrame, mapping: Mapping[str, str], rules: ImportRules, *, now: datetime) -> Cleaned:
    """Apply the rules to the source rows; ``mapping`` is contract column -> source column."""
    n = len(raw)
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")

    def set_aside(mask: pd.Series | np.ndarray, name: str) -> None:
        reason[np.asarray(mask, dtype=bool) & reason.isna().to_numpy()] = name

    col = {dest: raw[src] for dest, src in mapping.items()}
    order_id = _text(col["order_id"])
    product_id = _text(col["product_id"])
    customer_id = _text(col["customer_id"]).str.replace(r"^(\d+)\.0+$", r"\1", regex=True) \
        if "customer_id" in col else pd.Series(pd.NA, index=raw.index, dtype="string")
    ts = _parse_ts(col["order_ts"], rules)
    qty = _numbers(col["quantity"])
    price = _numbers(col["unit_price"])

    set_aside(order_id.isna(), "missing_order_id")
    set_aside(product_id.isna(), "missing_product_id")
    set_aside(ts.isna(), "unparseable_date")
    set_aside(~np.isfinite(qty) | (qty != np.floor(qty)), "unparseable_quantity")
    set_aside(~np.isfinite(price), "unparseable_price")
    upper = product_id.str.upper()
    non_product = upper.isin(rules.non_product_codes).fillna(False)
    if rules.non_product_pattern:
        non_product |= product_id.str.fullmatch(rules.non_product_pattern, case=False).fillna(False)
    set_aside(non_product, "non_product_code")
    set_aside(qty == 0, "zero_quantity")
    set_aside(price <= 0, "nonpositive_price")
    set_aside(qty.abs() > rules.max_abs_quantity, "absurd_quantity")
    set_aside(price > rules.max_unit_price, "absurd_price")
    set_aside(ts < pd.Timestamp(rules.min_date, tz="UTC"), "date_too_old")
    set_aside(ts > pd.Timestamp(now).tz_convert("UTC") if pd.Timestamp(now).tzinfo else
              ts > pd.Timestamp(now, tz="UTC"), "future_date")
    if not rules.keep_duplicates:
        valid = reason.isna()
        dup = pd.Series(False, index=raw.index)
        dup[valid] = raw[valid].astype("string").duplicated(keep="first")
        set_aside(dup, "duplicate_line")

    keep = reason.isna().to_numpy()
    kept = pd.DataFrame({
        "order_id": order_id[keep], "customer_id": customer_id[keep], "order_ts": ts[keep],
        "product_id": product_id[keep], "quantity": qty[keep].astype("int64"), "unit_price": price[keep],
    })
    for optional in ("category", "country"):
        if optional in col:
            kept[optional] = _text(col[optional])[keep]
    assert len(kept) + int(reason.notna().sum()) == n
    return Cleaned(kept=kept.reset_index(drop=True), reasons=reason)


def clean_customers(raw: pd.DataFrame, mapping: Mapping[str, str], rules: ImportRules) -> Cleaned:
    """Customers: an id is required and unique (first row wins); a bad created_at becomes null, not a loss."""
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    cid = _text(raw[mapping["customer_id"]]).str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    reason[cid.isna()] = "missing_customer_id"
    dup = cid.duplicated(keep="first") & cid.notna()
    reason[dup & reason.isna()] = "duplicate_customer"
    keep = reason.isna().to_numpy()
    kept = pd.DataFrame({"customer_id": cid[keep]})
    notes = {}
    kept["email"] = _text(raw[mapping["email"]])[keep] if "email" in mapping else pd.NA
    if "created_at" in mapping:
        source = raw[mapping["created_at"]][keep]
        created = _parse_ts(source, rules)
        notes["created_at_unparseable_set_null"] = int((created.isna() & _text(source).notna()).sum()) \
            if not pd.api.types.is_datetime64_any_dtype(source) else 0
        kept["created_at"] = created
    return Cleaned(kept=kept.reset_index(drop=True), reasons=reason, notes=notes)


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
                 rules: ImportRules | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Import ``orders_file`` (and ``customers_file``) into a new lake at ``lake``; returns the report.

    Raises :class:`ImportFailed` (and leaves any existing lake untouched) when a file cannot be read or the
    mapping names a column that is not there.
    """
    from insights.lake import write_lake

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
    known = set(orders_src.columns) | set(customers_src.columns if customers_src else [])
    unknown_dest = sorted({d for d in maps.values() if d not in ORDER_COLUMNS and d not in CUSTOMER_COLUMNS})
    if unknown_dest:
        raise ImportFailed(f"--map destination(s) not in the data contract: {', '.join(unknown_dest)} "
                           f"(orders: {', '.join(ORDER_COLUMNS)}; customers: {', '.join(CUSTOMER_COLUMNS)})")
    absent = sorted(s for s in maps if s not in known)
    if absent:
        raise ImportFailed(f"--map names column(s) in neither input file: {', '.join(absent)} "
                           f"(orders columns: {', '.join(orders_src.columns)})")
    order_maps = {s: d for s, d in maps.items() if s in orders_src.columns and d in ORDER_COLUMNS}
    mapping = resolve_mapping(orders_src.columns, ORDER_COLUMNS, chosen.mapping if chosen else {}, order_maps,
                              what=str(orders_file))
    lacking = [c for c in _REQUIRED if c not in mapping]
    if lacking:
        raise ImportFailed(f"{orders_file}: no column for {', '.join(lacking)}; map one with --map SRC=DEST "
                           f"(columns: {', '.join(orders_src.columns)})")
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
        "orders": _counts(orders.reasons, len(orders_src.malformed), len(orders_src.frame) + len(orders_src.malformed)),
    }
    customer_ids_in_file = _text(orders_src.frame[mapping["customer_id"]]).str.replace(
        r"^(\d+)\.0+$", r"\1", regex=True).nunique() if "customer_id" in mapping else 0
    report["kept"] = _summary(orders.kept, customer_ids_in_file)
    customers = None
    if customers_src is not None:
        cmaps = {s: d for s, d in maps.items() if s in customers_src.columns and d in CUSTOMER_COLUMNS}
        cmapping = resolve_mapping(customers_src.columns, CUSTOMER_COLUMNS, {}, cmaps, what=str(customers_file))
        if "customer_id" not in cmapping:
            raise ImportFailed(f"{customers_file}: no customer_id column; map one with --map SRC=customer_id")
        cleaned = clean_customers(customers_src.frame, cmapping, rules)
        customers = cleaned.kept
        report["customers_file"] = {"file": str(customers_file), "format": customers_src.format,
                                    "encoding": customers_src.encoding, "mapping": cmapping,
                                    **_counts(cleaned.reasons, len(customers_src.malformed),
                                              len(customers_src.frame) + len(customers_src.malformed)),
                                    **cleaned.notes}
    aside = _set_aside_frame(orders_src, orders.reasons)

    def extra(folder: Path) -> None:
        (folder / "_set_aside").mkdir()
        aside.to_parquet(folder / "_set_aside" / "orders.parquet", index=False)
        report["seconds"] = round(time.perf_counter() - started, 2)
        (folder / "_import_report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")

    report["lake"] = str(lake)
    write_lake(lake, orders.kept, customers, extra=extra)
    return report


def _summary(kept: pd.DataFrame, customers_in_file: int) -> dict[str, Any]:
    ts = kept["order_ts"]
    return {
        "order_lines": len(kept), "orders": int(kept["order_id"].nunique()),
        "customers": int(kept["customer_id"].nunique()), "customers_in_file": int(customers_in_file),
        "products": int(kept["product_id"].nunique()),
        "guest_lines": int(kept["customer_id"].isna().sum()), "return_lines": int((kept["quantity"] < 0).sum()),
        "countries": int(kept["country"].nunique()) if "country" in kept else None,
        "first_order_ts": ts.min().isoformat() if len(kept) else None,
        "last_order_ts": ts.max().isoformat() if len(kept) else None,
        "days": int(ts.dt.date.nunique()) if len(kept) else 0,
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
    lines.append(f"kept: {k['order_lines']:,} lines, {k['orders']:,} orders, {k['customers']:,} customers "
                 f"({k['customers_in_file']:,} ids in the file), {k['products']:,} products, "
                 f"{k['guest_lines']:,} guest lines, {k['return_lines']:,} return lines, "
                 f"{k['first_order_ts']} .. {k['last_order_ts']} UTC ({k['days']} days)")
    if "customers_file" in report:
        c = report["customers_file"]
        lines.append(f"customers file: {c['rows_read']:,} read, {c['rows_kept']:,} kept, set aside {c['set_aside']}")
    if report.get("seconds") is not None:
        lines.append(f"in {report['seconds']:.1f} s; report saved as {report['lake']}/_import_report.json")
    return "\n".join(lines)


def parse_maps(items: Sequence[str]) -> dict[str, str]:
    """``["A=order_id", ...]`` -> {"A": "order_id"}; raises ImportFailed on an item without '='."""
    out = {}
    for item in items:
        src, sep, dest = item.partition("=")
        if not sep or not src.strip() or not dest.strip():
            raise ImportFailed(f"--map {item!r} is not SRC=DEST")
        out[src.strip()] = dest.strip()
    return out


def main(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry: exit 0 with the report on stdout, 2 with one error line when the input cannot be used."""
    settings = settings.with_overrides(lake=args.lake)
    if str(settings.lake).startswith("s3://"):
        print("error: import writes a local lake folder; import locally, then copy it to S3 "
              "(the layout is the same)", file=sys.stderr)
        return 2
    try:
        chosen_rules = None
        timezone = getattr(args, "timezone", None)
        if timezone or getattr(args, "keep_duplicates", False):
            base = PRESETS[args.preset].rules if args.preset else ImportRules()
            chosen_rules = replace(base, timezone=timezone or base.timezone,
                                   keep_duplicates=bool(getattr(args, "keep_duplicates", False)))
        report = import_files(args.orders_file, lake=settings.lake, customers_file=args.customers_file,
                              preset=args.preset, maps=parse_maps(args.map), rules=chosen_rules)
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: could not write the lake at {settings.lake}: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0
