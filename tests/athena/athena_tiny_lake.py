"""The tiny hand-made lake of tests/athena: its rows, and the cutoff and horizon the tests use."""

import pandas as pd

CUTOFF = "2024-03-01"  # lines on that day and later are "future" for features, "label window" for labels
HORIZON = 60           # label window [2024-03-01, 2024-04-30)

# A tiny hand-made lake; every line is there for a reason (the comment says which).
ORDERS = [
    # order_id, customer_id, order_ts (UTC), product_id, quantity, unit_price, category
    ("o1", "c1", "2024-01-01 10:00", "p1", 2, 5.0, "toys"),     # c1: two lines in one order
    ("o1", "c1", "2024-01-01 10:00", "p2", 1, 10.0, "books"),
    ("o2", "c1", "2024-02-10 23:30", "p1", 1, 5.0, "toys"),
    ("r1", "c1", "2024-02-12 09:00", "p2", -1, 10.0, "books"),  # a return-only order: spend, not frequency
    ("o3", "c1", "2024-02-29 23:59", "p3", 4, 2.5, None),       # last minute before the cutoff day
    ("o4", "c2", "2023-12-15 08:00", "p1", 10, 4.0, "toys"),
    ("o5", "c2", "2024-03-01 00:00", "p1", 3, 4.0, "toys"),     # on the cutoff day: a label, never a feature
    ("o6", "c2", "2024-04-15 12:00", "p2", 1, 10.0, "books"),   # in the label window
    ("o6", "c2", "2024-04-15 12:00", "p1", -2, 4.0, "toys"),    # a return inside a future purchase order
    ("o7", None, "2024-02-20 12:00", "p1", 5, 5.0, "toys"),     # guest line: product demand only
    ("o8", "c3", "2024-05-30 12:00", "p3", 1, 2.5, None),       # first seen after the cutoff (and the window)
    ("o9", "c4", "2024-02-01 12:00", "p2", -2, 10.0, "books"),  # c4 has only a return before the cutoff
    ("o10", "c5", "2024-02-05 23:30", "p3", 2, 2.5, None),      # date_diff trap: 23:30 -> 00:30 next day
    ("o11", "c5", "2024-02-06 00:30", "p3", 1, 3.0, None),      # is 1 calendar day (Trino: 0 whole days)
    ("o12", "c5", "2024-02-06 15:00", "p1", 1, 5.0, "toys"),    # a second order on the same day
    ("o13", "c5", "2023-10-01 09:00", "p2", 3, 9.0, "books"),   # in [cutoff-180, cutoff-90): the trend window
    ("o14", "c6", "2024-02-28 10:00", "p1", 1, 5.0, "toys"),    # not in the customers directory
    ("o15", "c6", "2024-03-20 10:00", "p2", -1, 10.0, "books"), # a return-only order in the label window
]

# The optional promotion columns, by (order_id, product_id): (list_price, on_promotion); other lines know neither.
PROMOTIONS = {
    ("o7", "p1"): (6.0, None),    # 5.00 against a list price of 6.00: on promotion by its price
    ("o12", "p1"): (5.0, True),   # flagged by the source although sold at its list price
    ("o10", "p3"): (2.5, False),  # at its list price, not flagged
    ("o11", "p3"): (3.01, False), # 0.33% below its list price: rounding, not a promotion
    ("o14", "p1"): (None, True),  # flagged, list price unknown
}

CUSTOMERS = [
    # customer_id, email, created_at
    ("c1", "a@example.com", "2023-06-01"),   # signed up long before the first order: age counts from here
    ("c2", "b@example.com", "2024-01-01"),   # signed up after the first order: age from the first order
    ("c4", "d@example.com", None),
    ("c7", "g@example.com", "2024-02-01"),   # never ordered: in the directory only
]


def orders_frame(rows=ORDERS) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["order_id", "customer_id", "order_ts", "product_id", "quantity",
                                              "unit_price", "category"])
    frame["order_ts"] = pd.to_datetime(frame["order_ts"], utc=True)
    frame["country"] = "UK"
    known = [PROMOTIONS.get((o, p), (None, None)) for o, p in zip(frame["order_id"], frame["product_id"], strict=True)]
    frame["list_price"] = pd.array([lp for lp, _ in known], dtype="Float64")
    frame["on_promotion"] = pd.array([flag for _, flag in known], dtype="boolean")
    return frame


def customers_frame() -> pd.DataFrame:
    frame = pd.DataFrame(CUSTOMERS, columns=["customer_id", "email", "created_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame
