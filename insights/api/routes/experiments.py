"""The A/B test calculator: POST experiments/sample-size and experiments/analyze (insights/api/experiments.py)."""

from __future__ import annotations

from typing import cast

from insights.api import experiments
from insights.api.error_codes import AUTH, BODY
from insights.api.events import PREFIX
from insights.api.experiment_responses import AnalyzeResponse, SampleSizeResponse
from insights.api.experiment_schemas import AnalyzeRequest, SampleSizeRequest
from insights.api.routes.kit import SECURITY, Recording
from insights.api.routes.kit import answers as _answers
from insights.api.runtime import ApiRuntime

__all__ = ["register"]


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add these routes to ``app`` (stateless: they read no snapshot)."""

    @app.post(f"{PREFIX}/experiments/sample-size", tags=["experiments"], security=SECURITY,
              responses=_answers("units per arm for the effect, alpha and power", *AUTH, *BODY, "invalid_value",
                                 "internal_error"),
              summary="A/B test sample size for a conversion rate or a mean (two-sided)")
    def post_sample_size(body: SampleSizeRequest) -> SampleSizeResponse:
        return cast(SampleSizeResponse, experiments.sample_size(**body.model_dump()))

    @app.post(f"{PREFIX}/experiments/analyze", tags=["experiments"], security=SECURITY,
              responses=_answers("each arm against the control", *AUTH, *BODY, "invalid_value", "internal_error"),
              summary="A/B test analysis: two-proportion z or Welch t, intervals, P(arm beats control)")
    def post_analyze(body: AnalyzeRequest) -> AnalyzeResponse:
        return cast(AnalyzeResponse, experiments.analyze(body.arms, control=body.control, alpha=body.alpha))
