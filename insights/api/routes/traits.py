"""GET segments/traits: behavioural traits beyond RFM, their distribution and archetypes (insights/api/traits.py)."""

from __future__ import annotations

from typing import cast

from insights.api import traits
from insights.api.error_codes import ALWAYS, AUTH
from insights.api.events import PREFIX
from insights.api.routes.kit import SECURITY, Recording
from insights.api.routes.kit import answers as _answers
from insights.api.runtime import ApiRuntime
from insights.api.trait_responses import TraitsResponse

__all__ = ["register"]


def register(app: Recording, runtime: ApiRuntime) -> None:
    """Add the traits route to ``app``."""

    @app.get(f"{PREFIX}/segments/traits", tags=["customers"], security=SECURITY,
             responses=_answers("each trait axis's distribution and the archetypes", *AUTH, *ALWAYS),
             summary="Behavioural traits (category affinity, cadence, tenure, returns): distributions and archetypes")
    def get_segment_traits() -> TraitsResponse:
        return cast(TraitsResponse, traits.segment_traits(runtime.snapshot()))
