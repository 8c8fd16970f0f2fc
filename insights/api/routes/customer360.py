"""The customer profile and the recommendations: GET customers/{customer_id}, POST recommendations."""

from __future__ import annotations

from typing import Annotated, cast
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Path

from insights.api import profile, recommendations
from insights.api.auth import SCOPE_PII
from insights.api.customer360_responses import ProfileResponse, RecommendationRequest, RecommendationsResponse
from insights.api.error_codes import ALWAYS, AUTH, BODY
from insights.api.events import PREFIX
from insights.api.pseudonyms import by_store_id
from insights.api.routes.kit import SECURITY, Recording
from insights.api.routes.kit import answers as _answers
from insights.api.runtime import ApiRuntime
from insights.errors import InvalidRequest

__all__ = ["register", "MAX_ID_CHARS"]

MAX_ID_CHARS = 64


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add these routes to ``app`` (the resolver, recording each route)."""

    @app.get(f"{PREFIX}/customers/<customer_id>", tags=["customers"], security=SECURITY,
             responses=_answers("everything the snapshot knows about the customer", *AUTH, "validation_error",
                                "invalid_value",
                                "not_found", *ALWAYS),
             summary="One customer's profile: RFM, segment, CLV, churn, next purchases, category spend, "
                     "recommendations and the next best action; email only with customers:pii")
    def get_customer(customer_id: Annotated[str, Path(min_length=1, max_length=3 * MAX_ID_CHARS)]
                     ) -> ProfileResponse:
        principal = runtime.principal()
        pii = bool(principal and principal.has(SCOPE_PII))
        return cast(ProfileResponse, by_store_id(runtime.pseudonyms, customer_id_of(customer_id), lambda sid: (
            profile.customer_profile(runtime.snapshot(), str(sid), with_pii=pii))))

    @app.post(f"{PREFIX}/recommendations", tags=["customers"], security=SECURITY,
              responses=_answers("recommended products with a score and a reason each", *AUTH, *BODY,
                                 "invalid_value", "not_found", *ALWAYS),
              summary="Products for a customer (not already bought unless replenishable) or bought together with "
                      "a product")
    def post_recommendations(body: RecommendationRequest) -> RecommendationsResponse:
        return cast(RecommendationsResponse, by_store_id(runtime.pseudonyms, body.customer_id, lambda sid: (
            recommendations.recommendations(runtime.snapshot(), customer_id=sid, product_id=body.product_id,
                                            limit=body.limit))))


def customer_id_of(raw: str) -> str:
    """The path segment as an id: percent-decoded once (%20 a space, %2F a slash), 1..64 characters."""
    value = unquote(raw)
    if not 1 <= len(value) <= MAX_ID_CHARS or not value.isprintable():
        raise InvalidRequest(f"a customer id is 1..{MAX_ID_CHARS} printable characters", field="customer_id")
    return value
