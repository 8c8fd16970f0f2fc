"""The optional promotion columns of an order line: list_price and on_promotion, read from what a source has.

A source may carry the regular price itself (``--map RRP=list_price``), a discount from which it follows
(``--map "Discount %=discount_pct"``: percent off the list price, so list_price = unit_price / (1 - pct / 100),
or a fraction when every value lies in [0, 1];
``--map Saving=discount_amount``: money off per unit, so list_price = unit_price + amount) and/or a deal flag
(``--map Deal=on_promotion``). A value that cannot be read becomes null (unknown), never a lost line; the report
counts them. docs/importer.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

__all__ = ["DERIVED_COLUMNS", "promotion_columns", "parse_flags"]

# --map destinations that are not contract columns: the importer derives list_price from them.
DERIVED_COLUMNS = ("discount_pct", "discount_amount")

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "promo", "promotion", "deal", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "none", "-"})


def parse_flags(values: pd.Series, text: Callable[[pd.Series], pd.Series]) -> tuple[pd.Series, int]:
    """A deal flag as nullable booleans, and how many non-blank values were not recognised (set null).

    true/yes/y/t/1/on/x/promo/promotion/deal are true, false/no/n/f/0/off/none/- false (any case); numbers are
    true when not zero; blanks are null (unknown).
    """
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), 0
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        return pd.Series(pd.array(np.where(np.isnan(numbers), None, numbers != 0), dtype="boolean"),
                         index=values.index), 0
    words = text(values).str.lower()
    number = pd.to_numeric(words, errors="coerce")
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[words.isin(_TRUE).fillna(False).to_numpy()] = True
    out[words.isin(_FALSE).fillna(False).to_numpy()] = False
    numeric = out.isna() & number.notna()
    out[numeric] = number[numeric] != 0
    unrecognised = int((out.isna() & words.notna()).sum())
    return out, unrecognised


def promotion_columns(col: Mapping[str, pd.Series], price: pd.Series, numbers: Callable[[pd.Series], pd.Series],
                      text: Callable[[pd.Series], pd.Series]) -> tuple[dict[str, pd.Series], dict[str, int]]:
    """list_price and on_promotion for every source row (only the mapped ones), and the report's notes."""
    out: dict[str, pd.Series] = {}
    notes: dict[str, int] = {}
    list_price = None
    if "list_price" in col:
        list_price = numbers(col["list_price"])
        given = text(col["list_price"]).notna()
    elif "discount_pct" in col:
        pct = numbers(col["discount_pct"])
        given = text(col["discount_pct"]).notna()
        known = pct[np.isfinite(pct)]
        if len(known) and known.between(0, 1).all() and (known > 0).any():
            # every value in [0, 1]: a fraction (0.25 = 25% off), not a column of discounts below 1%
            pct = pct * 100
            notes["discount_pct_read_as_fraction"] = 1
        list_price = price / (1 - pct.where((pct >= 0) & (pct < 100)) / 100)
    elif "discount_amount" in col:
        amount = numbers(col["discount_amount"])
        given = text(col["discount_amount"]).notna()
        list_price = price + amount.where(amount >= 0)
    if list_price is not None:
        valid = np.isfinite(list_price) & (list_price > 0)
        notes["list_price_unusable_set_null"] = int((given & ~valid).sum())
        out["list_price"] = list_price.where(valid)
    if "on_promotion" in col:
        flags, unrecognised = parse_flags(col["on_promotion"], text)
        notes["on_promotion_unrecognised_set_null"] = unrecognised
        out["on_promotion"] = flags
    return out, notes
