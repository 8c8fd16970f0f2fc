"""Request bodies and the error body of the API (Pydantic: validated by Powertools, published in the OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["ForecastRequest", "ProductRequest", "PriceOptimizationRequest", "CustomerIdsRequest", "ErrorBody",
           "ERROR_RESPONSES", "MAX_BATCH"]

MAX_BATCH = 1000
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7E]+$")]  # printable, no spaces
Price = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductRequest(_Strict):
    product_id: Id


class ForecastRequest(_Strict):
    product_id: Id
    forecast_days: Annotated[int, Field(ge=1, le=90, description="days ahead, 1..90 (day 0 = the snapshot's as_of)")]
    planned_price: Price | None = Field(default=None, description="what-if: the forecast under this unit price")


class PriceOptimizationRequest(_Strict):
    product_id: Id
    current_price: Price
    current_quantity: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)]
    cost_per_unit: Annotated[float | None, Field(ge=0, le=1e9, allow_inf_nan=False,
                                                 description="omit to maximize revenue instead of profit")] = None


class CustomerIdsRequest(_Strict):
    customer_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BATCH)]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


ERROR_RESPONSES: dict[int, dict[str, Any]] = {
    400: _err("malformed request (for example a body that is not JSON)"),
    401: _err("missing or invalid bearer token (see the WWW-Authenticate header)"),
    403: _err("the token lacks the insights:read scope"),
    404: _err("unknown product"),
    415: _err("the body is not application/json"),
    422: _err("validation failed (details name the field and the rule) or too little data to answer"),
    503: _err("no snapshot published yet (see Retry-After)"),
}
