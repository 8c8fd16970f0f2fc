"""The importer's rules: which source rows become order lines, and why the others are set aside.

Pure functions over pandas frames (no I/O): the reasons, the thresholds, the Online Retail preset, and the parsing
of ids, numbers and local timestamps. Each rule and its justification: docs/importer.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from insights.data.outliers import extreme_upper
from insights.data.promotions import DERIVED_COLUMNS, promotion_columns

__all__ = ["REASONS", "ORDER_COLUMNS", "MAPPABLE_ORDER_COLUMNS", "CUSTOMER_COLUMNS", "REQUIRED", "ImportRules",
           "Preset", "PRESETS", "Cleaned", "clean_orders", "clean_customers", "text_values", "normalize_customer_ids"]

REASONS = (
    "malformed_line",          # wrong number of fields (CSV): nothing in it can be trusted
    "missing_order_id",
    "missing_product_id",
    "unparseable_date",
    "unparseable_quantity",    # not an integer
    "unparseable_price",       # not a finite number
    "non_product_code",        # postage, fees, discounts, manual adjustments, vouchers (preset list)
    "zero_quantity",
    "nonpositive_price",       # negative (bad-debt write-offs), or zero without a customer (stock adjustments)
    "absurd_quantity",         # |quantity| extreme for its product (insights/data/outliers.py)
    "absurd_price",            # unit_price extreme for its product
    "date_too_old",            # before min_date
    "future_date",             # after the import time
    "duplicate_line",          # an exact copy of an earlier kept line (every source field equal)
)

ORDER_COLUMNS = ("order_id", "customer_id", "order_ts", "product_id", "quantity", "unit_price", "category", "country",
                 "list_price", "on_promotion")
MAPPABLE_ORDER_COLUMNS = ORDER_COLUMNS + DERIVED_COLUMNS  # --map may also name a discount, list_price's source
CUSTOMER_COLUMNS = ("customer_id", "email", "created_at")
REQUIRED = ("order_id", "order_ts", "product_id", "quantity", "unit_price")
_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class ImportRules:
    """The rules a row must pass; thresholds documented in docs/importer.md."""

    timezone: str = "UTC"                     # zone of timestamps written without an offset
    non_product_codes: frozenset[str] = frozenset()   # upper-cased product ids that are not products
    non_product_pattern: str | None = None    # regex (case-insensitive, full match) for more of them
    date_formats: tuple[str, ...] = ()        # tried, in order, on values that are not ISO 8601
    uppercase_product_ids: bool = False       # when the source writes one SKU in both cases
    # Extreme values are judged against the product's own lines (insights/data/outliers.py): set aside above
    # median x max(exp(mads x MAD), min_ratio) on the log scale; products with fewer than min_product_lines lines
    # are judged against the population. Defaults measured on Online Retail (docs/importer.md).
    quantity_mads: float = 5.0
    quantity_min_ratio: float = 2000.0
    price_mads: float = 5.0
    price_min_ratio: float = 500.0
    min_product_lines: int = 20
    min_date: str = "1990-01-01"
    keep_duplicates: bool = False

    def __post_init__(self) -> None:
        for name in ("quantity_mads", "price_mads"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("quantity_min_ratio", "price_min_ratio"):
            if not getattr(self, name) > 1:
                raise ValueError(f"{name} must be above 1, got {getattr(self, name)}")
        if self.min_product_lines < 1:
            raise ValueError(f"min_product_lines must be at least 1, got {self.min_product_lines}")


@dataclass(frozen=True)
class Preset:
    mapping: Mapping[str, tuple[str, ...]]
    rules: ImportRules
    description: str = ""
    currency: str | None = None  # ISO 4217 code of the amounts, when the data set's documentation says it


PRESETS: dict[str, Preset] = {
    "online-retail": Preset(
        description="UCI Online Retail (Chen, Sain & Guo 2012): a UK gift wholesaler's invoice lines, UK local time",
        currency="GBP",
        # contract column -> source names, first present wins: the 2010-2011 file, then its 2009-2011 sequel
        # ("Online Retail II": Invoice, Price, Customer ID).
        mapping={"order_id": ("InvoiceNo", "Invoice"), "product_id": ("StockCode",), "quantity": ("Quantity",),
                 "order_ts": ("InvoiceDate",), "unit_price": ("UnitPrice", "Price"),
                 "customer_id": ("CustomerID", "Customer ID"), "country": ("Country",)},
        rules=ImportRules(
            timezone="Europe/London",
            uppercase_product_ids=True,  # 112 codes appear in both cases for one product: 15056BL and 15056bl
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
    outliers: dict[str, dict[str, object]] = field(default_factory=dict)  # how extreme values were judged


def text_values(values: pd.Series) -> pd.Series:
    """Trimmed strings; blanks become <NA>. Integral floats (a numeric id column) print without '.0'."""
    if pd.api.types.is_float_dtype(values):
        ints = values.where(np.isfinite(values) & (values == np.floor(values)) & (values.abs() < 2**53))
        out = ints.astype("Int64").astype("string").where(ints.notna(), values.astype("string"))
    else:
        out = values.astype("string")
    out = out.str.strip()
    return out.mask(out == "")


def normalize_customer_ids(values: pd.Series) -> pd.Series:
    """Customer ids as text; '17850.0' (an id that passed through a float column) becomes '17850'."""
    return text_values(values).str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def _parse_ts(values: pd.Series, rules: ImportRules) -> pd.Series:
    """Timestamps in UTC. Naive values are wall-clock time in ``rules.timezone``; offsets are honoured."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    if pd.api.types.is_datetime64_dtype(values):
        return _localize(values.astype("datetime64[us]"), rules.timezone)
    text = text_values(values)
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
    text = text_values(values)
    # "1,250.00" has thousands separators; "2,55" (a decimal comma) is left unparseable rather than read as 255.
    grouped = text.str.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", na=False)
    text = text.where(~grouped, text.str.replace(",", "", regex=False))
    return pd.to_numeric(text, errors="coerce").astype("float64")


def clean_orders(raw: pd.DataFrame, mapping: Mapping[str, str], rules: ImportRules, *, now: datetime) -> Cleaned:
    """Apply the rules to the source rows; ``mapping`` is contract column -> source column."""
    n = len(raw)
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")

    def set_aside(mask: pd.Series | np.ndarray, name: str) -> None:
        reason[np.asarray(mask, dtype=bool) & reason.isna().to_numpy()] = name

    col = {dest: raw[src] for dest, src in mapping.items()}
    order_id = text_values(col["order_id"])
    product_id = text_values(col["product_id"])
    if rules.uppercase_product_ids:
        product_id = product_id.str.upper()
    customer_id = normalize_customer_ids(col["customer_id"]) \
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
    # A zero price on a customer's line is a free order (a sample, a 100% discount): the customer is still a
    # customer with zero spend, so the line is kept (counted in the report's notes); product demand and prices
    # leave zero-priced lines out (daily_sales). Without a customer it is a stock movement, not a sale.
    set_aside((price < 0) | ((price == 0) & customer_id.isna().to_numpy()), "nonpositive_price")
    judged = reason.isna().to_numpy()
    quantity_limits = extreme_upper(qty.abs().to_numpy(), product_id, judged, mads=rules.quantity_mads,
                                    min_ratio=rules.quantity_min_ratio, min_lines=rules.min_product_lines)
    price_limits = extreme_upper(price.to_numpy(), product_id, judged, mads=rules.price_mads,
                                 min_ratio=rules.price_min_ratio, min_lines=rules.min_product_lines)
    set_aside(quantity_limits.extreme, "absurd_quantity")
    set_aside(price_limits.extreme, "absurd_price")
    set_aside(ts < pd.Timestamp(rules.min_date, tz="UTC"), "date_too_old")
    now_utc = pd.Timestamp(now)
    now_utc = now_utc.tz_localize("UTC") if now_utc.tzinfo is None else now_utc.tz_convert("UTC")
    set_aside(ts > now_utc, "future_date")
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
            kept[optional] = text_values(col[optional])[keep]
    promotion, promotion_notes = promotion_columns(col, price, _numbers, text_values)
    for name, values in promotion.items():
        kept[name] = values[keep]
    assert len(kept) + int(reason.notna().sum()) == n
    notes = {"zero_price_lines_kept": int((kept["unit_price"] == 0).sum()), **promotion_notes}
    if "on_promotion" in kept or "list_price" in kept:
        notes["promotion_lines_kept"] = int(_promoted(kept).sum())
    outliers = {"quantity": quantity_limits.summary(), "unit_price": price_limits.summary()}
    return Cleaned(kept=kept.reset_index(drop=True), reasons=reason, notes=notes, outliers=outliers)


def _promoted(kept: pd.DataFrame) -> pd.Series:
    """Lines on promotion as daily_sales counts them: flagged, or more than 0.5% below their list price."""
    flag = kept["on_promotion"].fillna(False) if "on_promotion" in kept else pd.Series(False, index=kept.index)
    below = (kept["unit_price"] < 0.995 * kept["list_price"]).fillna(False) if "list_price" in kept else False
    return flag.astype(bool) | below


def clean_customers(raw: pd.DataFrame, mapping: Mapping[str, str], rules: ImportRules) -> Cleaned:
    """Customers: an id is required and unique (first row wins); a bad created_at becomes null, not a loss."""
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")
    cid = normalize_customer_ids(raw[mapping["customer_id"]])
    reason[cid.isna()] = "missing_customer_id"
    dup = cid.duplicated(keep="first") & cid.notna()
    reason[dup & reason.isna()] = "duplicate_customer"
    keep = reason.isna().to_numpy()
    kept = pd.DataFrame({"customer_id": cid[keep]})
    notes = {}
    kept["email"] = text_values(raw[mapping["email"]])[keep] if "email" in mapping else pd.NA
    if "created_at" in mapping:
        source = raw[mapping["created_at"]][keep]
        created = _parse_ts(source, rules)
        notes["created_at_unparseable_set_null"] = int((created.isna() & text_values(source).notna()).sum()) \
            if not pd.api.types.is_datetime64_any_dtype(source) else 0
        kept["created_at"] = created
    return Cleaned(kept=kept.reset_index(drop=True), reasons=reason, notes=notes)


