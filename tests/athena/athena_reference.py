"""The queries' meaning, written again in plain pandas from the README's definitions (never by running SQL).

The golden tests compare the SQL on DuckDB (and, through moto, the Athena adapter) with these, column by column.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd


def _lines(orders: pd.DataFrame) -> pd.DataFrame:
    lines = orders.copy()
    lines["day"] = lines["order_ts"].dt.tz_convert("UTC").dt.date
    lines["amount"] = lines["quantity"].astype(float) * lines["unit_price"]
    return lines


def customer_features(orders: pd.DataFrame, customers: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    cut = date.fromisoformat(cutoff)
    lines = _lines(orders)
    lines = lines[(lines["day"] < cut) & lines["customer_id"].notna()]
    directory = {r.customer_id: r for r in customers.itertuples()}
    rows = []
    for cid, own in sorted(lines.groupby("customer_id"), key=lambda kv: kv[0]):
        orders_of = own.groupby("order_id").agg(day=("day", "min"), buys=("quantity", lambda q: (q > 0).sum()),
                                                value=("amount", "sum"))
        purchases = orders_of[orders_of["buys"] > 0]
        if purchases.empty:
            continue  # only returns before the cutoff: not a customer yet
        days = sorted(set(purchases["day"]))
        by_day = purchases.groupby("day").agg(value=("value", "sum"), buys=("buys", "sum")).sort_index()
        gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
        entry = directory.get(cid)
        created = entry.created_at.date() if entry is not None and pd.notna(entry.created_at) else None
        first, last = min(days), max(days)
        bought = int(own.loc[own["quantity"] > 0, "quantity"].sum())
        returned = int(-own.loc[own["quantity"] < 0, "quantity"].sum())
        total = float(own["amount"].sum())

        def spend(lo: int, hi: int = 0, own: pd.DataFrame = own) -> float:
            window = own[(own["day"] >= cut - timedelta(days=lo)) & (own["day"] < cut - timedelta(days=hi))]
            return float(window["amount"].sum())

        s90, prev90 = spend(90), spend(180, 90)
        rows.append({
            "customer_id": cid,
            "email": entry.email if entry is not None else None,
            "recency_days": (cut - last).days,
            "frequency": len(purchases),
            "monetary_total": total,
            "customer_age_days": (cut - min(first, created or first)).days,
            "avg_order_value": total / len(purchases),
            "mean_days_between_orders": sum(gaps) / len(gaps) if gaps else math.nan,
            "std_days_between_orders": pd.Series(gaps, dtype=float).std(ddof=1) if len(gaps) > 1 else math.nan,
            **{f"orders_{n}d": int((purchases["day"] >= cut - timedelta(days=n)).sum()) for n in (30, 90, 180, 365)},
            **{f"spend_{n}d": spend(n) for n in (30, 90, 180, 365)},
            "distinct_products": own.loc[own["quantity"] > 0, "product_id"].nunique(),
            "return_rate": returned / bought if bought else 0.0,
            "spend_trend": (s90 - prev90) / (abs(s90) + abs(prev90)) if abs(s90) + abs(prev90) > 0 else 0.0,
            "first_order_value": float(by_day["value"].iloc[0]),  # the first purchase day's orders
            "first_order_lines": int(by_day["buys"].iloc[0]),
            "last_order_value": float(by_day["value"].iloc[-1]),
            "max_order_value": float(by_day["value"].max()),
            "first_order_date": first,
            "last_order_date": last,
        })
    return pd.DataFrame(rows)


def customer_labels(orders: pd.DataFrame, cutoff: str, horizon_days: int) -> pd.DataFrame:
    cut = date.fromisoformat(cutoff)
    end = cut + timedelta(days=horizon_days)
    lines = _lines(orders)
    lines = lines[lines["customer_id"].notna()]
    known = sorted(set(lines.loc[(lines["day"] < cut) & (lines["quantity"] > 0), "customer_id"]))
    window = lines[(lines["day"] >= cut) & (lines["day"] < end)]
    rows = []
    for cid in known:
        own = window[window["customer_id"] == cid]
        buys = own.groupby("order_id")["quantity"].apply(lambda q: (q > 0).any())
        n = int(buys.sum())
        rows.append({"customer_id": cid, "future_orders": n, "future_spend": float(own["amount"].sum()),
                     "purchased": int(n > 0)})
    return pd.DataFrame(rows)


def daily_sales(orders: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    lines = _lines(orders)
    lines = lines[(lines["day"] >= date.fromisoformat(start)) & (lines["day"] < date.fromisoformat(end))
                  & (lines["quantity"] > 0)]
    rows = []
    for (day, pid), g in lines.groupby(["day", "product_id"]):
        cats = g["category"].dropna()
        revenue = float(g["amount"].sum())
        units = int(g["quantity"].sum())
        rows.append({"sale_date": day, "product_id": pid, "quantity": units, "revenue": revenue,
                     "price": revenue / units, "category": max(cats) if len(cats) else None,
                     **_promotion(g, units)})
    return pd.DataFrame(rows).sort_values(["product_id", "sale_date"]).reset_index(drop=True)


def _promotion(g: pd.DataFrame, units: int) -> dict:
    """promo_share and list_price of one product-day, line by line (columns absent from an old lake: unknown)."""
    promo, weighted, known_units = 0.0, 0.0, 0.0
    for line in g.itertuples():
        flag, list_price = getattr(line, "on_promotion", None), getattr(line, "list_price", None)
        known = list_price is not None and not pd.isna(list_price) and list_price > 0
        if (flag is not None and not pd.isna(flag) and bool(flag)) or (known and line.unit_price < 0.995 * list_price):
            promo += line.quantity
        if known:
            weighted += line.quantity * list_price
            known_units += line.quantity
    return {"promo_share": promo / units, "list_price": weighted / known_units if known_units else None}


def lake_summary(orders: pd.DataFrame, cutoff: str) -> dict:
    lines = _lines(orders)
    lines = lines[lines["day"] < date.fromisoformat(cutoff)]
    return {"order_lines": len(lines), "orders": lines["order_id"].nunique(),
            "customers": lines["customer_id"].dropna().nunique(), "products": lines["product_id"].nunique(),
            "first_date": min(lines["day"]), "last_date": max(lines["day"]),
            "return_lines": int((lines["quantity"] < 0).sum())}
