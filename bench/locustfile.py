"""Locust scenario for bench/load_test.py: storefront backends calling every insight route with a bearer token.

Read from the environment (set by bench/load_test.py): LOAD_TOKEN (a JWT with insights:read and customers:pii) and
LOAD_IDS (a JSON file {"customers": [...], "products": [...], "priced_products": ["id|mean price", ...]} of ids
that exist in the served snapshot). Every request must answer 200: anything else is counted as an error.
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, constant, task

TOKEN = os.environ.get("LOAD_TOKEN", "")
IDS = json.loads(open(os.environ["LOAD_IDS"]).read()) if os.environ.get("LOAD_IDS") else {}
PREFIX = "/demand-insights"


class Storefront(HttpUser):
    wait_time = constant(0)  # closed loop: each user sends its next request as soon as the last one is answered

    def on_start(self) -> None:
        self.client.headers.update({"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        self.rng = random.Random(id(self))

    def _post(self, route: str, body: dict) -> None:
        with self.client.post(f"{PREFIX}/{route}", data=json.dumps(body), name=f"POST {route}",
                              catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")

    def _get(self, route: str, query: str = "", name: str | None = None) -> None:
        with self.client.get(f"{PREFIX}/{route}{query}", name=name or f"GET {route}", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")

    @task(2)
    def segments(self) -> None:
        k = self.rng.choice(["", "?n_clusters=3", "?n_clusters=5", "?n_clusters=8"])
        self._get("segments", k)

    @task(3)
    def clv(self) -> None:
        self._post("clv", {"customer_ids": self.rng.sample(IDS["customers"], min(100, len(IDS["customers"])))})

    @task(3)
    def churn(self) -> None:
        self._post("churn", {"customer_ids": self.rng.sample(IDS["customers"], min(100, len(IDS["customers"])))})

    @task(2)
    def at_risk(self) -> None:
        self._get("at-risk-customers", f"?threshold={self.rng.choice(['0.3', '0.5', '0.7'])}&limit=100")

    @task(3)
    def forecast(self) -> None:
        self._post("forecast", {"product_id": self.rng.choice(IDS["products"]),
                                "forecast_days": self.rng.choice([7, 30, 90])})

    @task(2)
    def elasticity(self) -> None:
        self._post("price-elasticity", {"product_id": self.rng.choice(IDS["priced_products"]).split("|")[0]})

    @task(2)
    def optimization(self) -> None:
        product, price = self.rng.choice(IDS["priced_products"]).split("|")
        self._post("price-optimization", {"product_id": product, "current_price": float(price),
                                          "current_quantity": 20, "cost_per_unit": round(0.4 * float(price), 4)})

    @task(1)
    def health(self) -> None:
        self._get("health")
