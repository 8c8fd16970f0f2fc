"""Request bodies of the API (Pydantic, strict: validated by Powertools, published in the OpenAPI).

Strict: a number must be a JSON number (``"7"``, ``true`` or ``7.0`` for ``forecast_days`` are a 422, not 7);
an integer is still accepted where a float is expected. Unknown fields are refused. The answers' models are in
insights/api/responses.py, the error bodies in insights/api/error_codes.py.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["ForecastRequest", "ProductRequest", "PriceOptimizationRequest", "CustomerIdsRequest", "MAX_BATCH"]

MAX_BATCH = 1000
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")]  # printable, no spaces
Price = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


ProductId = Annotated[Id, Field(description="the product's id as in the order data (1..64 printable characters)")]


class ProductRequest(_Strict):
    product_id: ProductId


class ForecastRequest(_Strict):
    product_id: ProductId
    forecast_days: Annotated[int, Field(ge=1, le=90, description="days ahead, 1..90 (day 0 = the snapshot's as_of)")]
    planned_price: Price | None = Field(default=None, description="what-if: the forecast under this unit price")


class PriceOptimizationRequest(_Strict):
    product_id: ProductId
    current_price: Price | None = Field(default=None, description="the current unit price (currency units of the "
                                                                  "order data); omit to use the product's last "
                                                                  "observed price")
    current_quantity: Annotated[float | None, Field(gt=0, le=1e12, allow_inf_nan=False,
                                                    description="units sold per period at the current price (any "
                                                                "period: the estimated quantity and revenue are per "
                                                                "that period); omit to use the product's mean daily "
                                                                "units over its last 28 days")] = None
    cost_per_unit: Annotated[float | None, Field(ge=0, le=1e9, allow_inf_nan=False,
                                                 description="unit cost; omit to maximize revenue instead of "
                                                             "profit")] = None


class CustomerIdsRequest(_Strict):
    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BATCH,
                                            description="1..1000 customer ids (1..64 printable characters each); "
                                                        "duplicates are answered once")]

