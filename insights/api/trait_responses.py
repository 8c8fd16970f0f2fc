"""The 200 answer of GET segments/traits (behavioural traits beyond RFM): see insights/api/responses.py."""

# No `from __future__ import annotations`: TypedDict must see NotRequired evaluated to know the optional keys.
from typing import Annotated, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from insights.api.responses import AS_OF, CURRENCY, Money

__all__ = ["TraitsResponse", "CustomerTraits"]


class TraitBand(TypedDict):
    label: Annotated[str, Field(description="the label given inside the band")]
    lower: Annotated[float, Field(description="where the band starts (included)")]
    upper: Annotated[float | None, Field(description="where it ends (excluded); null for the open last band")]


class TraitShare(TypedDict):
    label: Annotated[str, Field(description="a label of the axis (or its no-measure label)")]
    customers: Annotated[int, Field(description="customers with the label")]
    percentage: Annotated[float, Field(description="their share of all customers, percent")]
    avg_clv: Annotated[Money, Field(description="their mean predicted CLV")]
    avg_strength: Annotated[float | None, Field(description="their mean strength, 0..1; null without a measure")]


class CategoryCount(TypedDict):
    category: Annotated[str, Field(description="a main category of specialists")]
    customers: Annotated[int, Field(description="specialists of that category")]


class TraitAxis(TypedDict):
    measure: Annotated[str, Field(description="what the axis measures (top_category_share, gap_cv, "
                                              "customer_age_days, return_rate)")]
    bands: Annotated[list[TraitBand], Field(description="the labels and where each band of the measure starts")]
    no_measure_label: Annotated[str, Field(description="the label of customers the measure cannot be computed for")]
    distribution: Annotated[list[TraitShare], Field(description="customers per label, largest first")]
    specialist_categories: NotRequired[Annotated[list[CategoryCount], Field(
        description="category_affinity only: the specialists' categories")]]


class Archetype(TypedDict):
    name: Annotated[str, Field(description="the five labels joined: affinity / cadence / tenure / returns / "
                                           "discount sensitivity")]
    traits: Annotated[dict[str, str], Field(description="axis -> label")]
    customers: Annotated[int, Field(description="customers with exactly this combination")]
    percentage: Annotated[float, Field(description="their share of all customers, percent")]
    avg_clv: Annotated[Money, Field(description="their mean predicted CLV")]
    total_clv: Annotated[Money, Field(description="their summed predicted CLV")]
    avg_monetary: Annotated[Money, Field(description="their mean spend to date")]


class TraitsResponse(TypedDict):
    """Behavioural traits: each axis's distribution, and the most common trait combinations (archetypes)."""

    axes: Annotated[dict[str, TraitAxis], Field(description="category_affinity, cadence, tenure, returns, "
                                                            "discount_sensitivity")]
    archetypes: Annotated[list[Archetype], Field(description="the 10 most common label combinations, by size")]
    n_combinations: Annotated[int | None, Field(description="how many distinct combinations exist")]
    unavailable: Annotated[dict[str, str], Field(description="axes the data cannot feed, with the reason "
                                                             "(a lake without categories or promotion fields)")]
    total_customers: Annotated[int | None, Field(description="customers with traits")]
    currency: Annotated[str, Field(description=CURRENCY)]
    as_of: Annotated[str, Field(description=AS_OF)]


class CustomerTrait(TypedDict):
    label: Annotated[str, Field(description="the customer's label on the axis")]
    strength: Annotated[float | None, Field(description="how clearly inside the label's band, 0..1")]
    measure: Annotated[str, Field(description="the measure's name")]
    value: Annotated[float | None, Field(description="the customer's value of the measure")]
    category: NotRequired[Annotated[str | None, Field(description="category_affinity: the main category")]]


class CustomerTraits(TypedDict):
    """One customer's traits (insights.api.traits.customer_traits; part of the customer profile)."""

    customer_id: Annotated[str, Field(description="the customer's id")]
    traits: Annotated[dict[str, CustomerTrait], Field(description="axis -> the customer's trait")]
    archetype: Annotated[str, Field(description="the five labels joined, as the archetypes name them")]
    as_of: Annotated[str, Field(description=AS_OF)]
