"""The recommendation side of the refresh: per customer the top-N products, per product "bought together".

:class:`RecommendationSide` is what the pipeline runs (insights/refresh/side.py). It extracts one row per
customer and product bought before as_of (``customer_products``) and each product's category
(``product_categories``), turned into integer codes at once so the frame stays small. Training is the
backtest (insights/refresh/rec_backtest.py: the time split, recall@10 and NDCG@10 against popularity): its
result is the side's model metadata, in the manifest and in the ``recommendation_meta`` document. Scoring
fits models.recommend.ItemCooccurrence on the whole history and writes the ``recommendations`` and
``rec_products`` tables (insights/snapshot/schema.py; method and costs: docs/recommendations.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from athena.engine import QueryEngine
from insights.config import Settings
from insights.refresh.rec_backtest import MODEL_PARAMS, backtest, build_matrices, coded_frame
from insights.refresh.rec_shards import fit_context, part_frame, population_stats
from insights.refresh.side import SideOutput, code_fingerprint
from models.recommend import ItemCooccurrence, popularity_ranking

__all__ = ["RecommendationSide", "score_recommendations", "UNCATEGORIZED", "TOP_N",
           "TOGETHER_K", "TOP_CATEGORIES"]

UNCATEGORIZED = "uncategorized"
TOP_N = 20  # products stored per customer: the most a customer's recommendations answer gives
TOGETHER_K = 50  # "frequently bought together" products stored per product
TOP_CATEGORIES = 5  # categories stored per customer (the rest of the spend is "other")
_NO_ROWS = pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
    ("customer_id", str), ("product_id", str), ("purchase_days", "int64"), ("days_before_split", "int64"),
    ("spend", "float64"), ("in_next_basket", "int64"))})


@dataclass
class RecommendationSide:
    """Top-N products per customer and bought-together lists per product, with a next-basket backtest."""

    backtest_days: int = 60
    max_eval_customers: int = 50_000
    min_customers: int = 20
    random_state: int = 0
    name: str = "recommendations"

    @classmethod
    def from_settings(cls, settings: Settings) -> RecommendationSide:
        return cls(min_customers=settings.min_customers)

    def code_version(self) -> str:
        return code_fingerprint(("insights.refresh.recommendations", "insights.refresh.rec_backtest",
                                 "models.recommend"), ())

    def extract(self, engine: QueryEngine, as_of: date) -> pd.DataFrame:
        split = as_of - timedelta(days=self.backtest_days)
        pairs = engine.query("customer_products", {"cutoff": as_of.isoformat(), "split": split.isoformat()})
        cats = engine.query("product_categories", {"cutoff": as_of.isoformat()})
        return compact_pairs(pairs, cats)

    def gate(self, frame: pd.DataFrame) -> str | None:
        n = len(frame.attrs.get("customer_ids", ()))
        products = len(frame.attrs.get("product_ids", ()))
        if n < self.min_customers or products < 2:
            return f"{n} customers and {products} products bought; at least {self.min_customers} and 2"
        return None

    def drift_features(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        per_customer = np.bincount(frame["cust"].to_numpy(), minlength=len(frame.attrs["customer_ids"]))
        return {"products_per_customer": per_customer.astype("float64")}

    def train(self, engine: QueryEngine, as_of: date, frame: pd.DataFrame) -> dict[str, Any]:
        return {"params": dict(MODEL_PARAMS), "backtest": backtest(frame, as_of, self.backtest_days,
                                                                   max_customers=self.max_eval_customers,
                                                                   random_state=self.random_state)}

    def save(self, models: dict[str, Any], folder: Path) -> None:
        (folder / "recommendations.json").write_text(json.dumps(models, sort_keys=True, indent=1))

    def load(self, folder: Path) -> dict[str, Any]:
        return dict(json.loads((folder / "recommendations.json").read_text()))

    def describe(self, models: dict[str, Any]) -> dict[str, Any]:
        return dict(models)

    def score(self, models: dict[str, Any], frame: pd.DataFrame, as_of: date) -> SideOutput:
        tables, meta = score_recommendations(frame, models["params"])
        return self._output(models, tables, meta)

    # the sharded refresh (insights/refresh/rec_shards.py): the model from engine aggregates, customers by shard
    shard_key = "customer_id"

    def extract_queries(self, as_of: date) -> list[tuple[str, dict[str, Any]]]:
        split = as_of - timedelta(days=self.backtest_days)
        return [("customer_products", {"cutoff": as_of.isoformat(), "split": split.isoformat()})]

    def prepare(self, engine: QueryEngine, rows: pd.DataFrame, as_of: date) -> pd.DataFrame:
        cats = engine.query("product_categories", {"cutoff": as_of.isoformat()})
        frame = compact_pairs(rows, cats)
        frame.attrs["population"] = population_stats(engine, as_of, cats, _category)  # for context(): everyone
        return frame

    def context(self, models: dict[str, Any], frame: pd.DataFrame, as_of: date) -> dict[str, Any]:
        return fit_context(models["params"], frame.attrs["population"])

    def score_part(self, models: dict[str, Any], context: dict[str, Any], part: pd.DataFrame,
                   as_of: date) -> dict[str, dict[str, np.ndarray]]:
        return {"recommendations": customer_rows(context["model"], part_frame(part, context))}

    def finish(self, models: dict[str, Any], context: dict[str, Any], rows: dict[str, dict[str, np.ndarray]],
               as_of: date) -> SideOutput:
        model, categories = context["model"], context["product_category"]
        table = rows.get("recommendations") or customer_rows(model, part_frame(_NO_ROWS, context))
        tables = {"recommendations": table, "rec_products": product_table(model, context["product_ids"], categories)}
        return self._output(models, tables, rec_meta(models["params"], model, categories, context["n_customers"]))

    def _output(self, models: dict[str, Any], tables: dict[str, Any], meta: dict[str, Any]) -> SideOutput:
        meta["backtest"] = models.get("backtest")
        quality = {}
        for name in ("model", "popularity"):
            for metric in ("recall_at_k", "ndcg_at_k"):
                value = ((models.get("backtest") or {}).get(name) or {}).get(metric)
                if value is not None:
                    quality[f"rec_{name}_{metric}"] = float(value)
        return SideOutput(tables=tables, table_keys={"recommendations": "customer_id", "rec_products": "product_id"},
                          docs={"recommendation_meta": meta}, quality=quality)


def compact_pairs(pairs: pd.DataFrame, categories: pd.DataFrame) -> pd.DataFrame:
    """The query's rows with integer customer and product codes (into the sorted ids kept in ``attrs``)."""
    cust_codes, customer_ids = pd.factorize(pairs["customer_id"].astype(str), sort=True)
    prod_codes, product_ids = pd.factorize(pairs["product_id"].astype(str), sort=True)
    product_ids = np.asarray(product_ids, dtype=str)
    cat_of = dict(zip(categories["product_id"].astype(str), categories["category"], strict=True))
    product_category = np.array([_category(cat_of.get(p)) for p in product_ids], dtype=str)
    # held from extract to this side's scoring: the compact form (rec_backtest.coded_frame)
    return coded_frame(pairs, cust_codes, prod_codes, customer_ids, product_ids, product_category)


def _category(value: Any) -> str:
    return UNCATEGORIZED if value is None or (isinstance(value, float) and np.isnan(value)) or not str(value) \
        else str(value)


def score_recommendations(frame: pd.DataFrame, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two tables and the metadata document from the whole history."""
    model = ItemCooccurrence(**params).fit(build_matrices(frame))
    rows = customer_rows(model, frame)
    products = frame.attrs["product_ids"]
    return ({"recommendations": rows, "rec_products": product_table(model, products, frame.attrs["product_category"])},
            rec_meta(params, model, frame.attrs["product_category"], int(rows["customer_id"].size)))


def customer_rows(model: ItemCooccurrence, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The ``recommendations`` table's rows for the frame's customers: each row depends on that customer only."""
    recs = model.recommend(build_matrices(frame), n=TOP_N)
    index_type = _index_type(frame.attrs["product_ids"])
    _, cat_idx, cat_share = _category_shares(frame)
    return {"customer_id": frame.attrs["customer_ids"],
            "rec_product": recs.items.astype(index_type), "rec_score": recs.scores.astype(np.float32),
            "rec_because": recs.because.astype(index_type), "category": cat_idx, "category_share": cat_share}


def _index_type(products: np.ndarray) -> type:
    return np.int16 if products.size < np.iinfo(np.int16).max else np.int32


def product_table(model: ItemCooccurrence, products: np.ndarray, categories: np.ndarray) -> dict[str, np.ndarray]:
    """The ``rec_products`` table: per product its buyers, repeat rate and bought-together list."""
    return {
        "product_id": products, "category": categories,
        "buyers": model.buyers_.astype(np.int32), "repeat_rate": model.repeat_rate_.astype(np.float32),
        "replenishable": model.replenishable_.astype(np.int8),
        "together_product": model.neighbors_[:, :TOGETHER_K].astype(_index_type(products)),
        "together_score": model.scores_[:, :TOGETHER_K].astype(np.float32),
        "together_customers": model.co_counts_[:, :TOGETHER_K].astype(np.int32),
        "popularity_rank": np.argsort(popularity_ranking(model.buyers_)).astype(np.int32),
    }


def rec_meta(params: dict[str, Any], model: ItemCooccurrence, categories: np.ndarray, n_customers: int
             ) -> dict[str, Any]:
    return {
        "method": f"item-item co-occurrence ({params.get('similarity')} similarity, shrink {params.get('shrink')}); "
                  "bought products excluded unless replenishable",
        "params": dict(params), "top_n": TOP_N, "together_k": TOGETHER_K,
        "categories": np.unique(categories).tolist(),
        "n_customers": n_customers, "n_products": int(model.buyers_.size),
        "n_replenishable": int(model.replenishable_.sum()),
        "replenishable_rule": {"min_repeat_rate": params.get("replenish_rate"), "min_buyers": params.get("min_buyers"),
                               "repeat_rate": "share of a product's buyers who bought it on two or more days"},
    }


def _category_shares(frame: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(category names, per customer the top categories' indices (-1 pads) and shares of spend, float32)."""
    names, per_product = np.unique(frame.attrs["product_category"], return_inverse=True)
    n_cust = len(frame.attrs["customer_ids"])
    cust = frame["cust"].to_numpy()
    spend = np.maximum(frame["spend"].to_numpy(np.float64), 0.0)
    total = np.bincount(cust, weights=spend, minlength=n_cust)
    # customers whose lines were all free (price 0) are split by purchase days instead
    weight = np.where(total[cust] > 0, spend, frame["purchase_days"].to_numpy(np.float64))
    matrix = sp.csr_matrix((weight, (cust, per_product[frame["prod"].to_numpy()])), shape=(n_cust, names.size))
    matrix.sum_duplicates()
    width = min(TOP_CATEGORIES, names.size)
    idx = np.full((n_cust, width), -1, dtype=np.int16)
    share = np.zeros((n_cust, width), dtype=np.float32)
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    step = max(1, 20_000_000 // max(1, names.size))
    for start in range(0, n_cust, step):
        block = matrix[start:start + step].toarray()
        top = np.argsort(-block, axis=1, kind="stable")[:, :width]
        vals = np.take_along_axis(block, top, axis=1)
        denom = np.maximum(sums[start:start + step], 1e-12)[:, None]
        ok = vals > 0
        idx[start:start + step] = np.where(ok, top, -1)
        share[start:start + step] = np.where(ok, vals / denom, 0.0)
    return names.tolist(), idx, share
