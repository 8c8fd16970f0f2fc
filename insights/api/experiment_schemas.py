"""Request bodies of the experiment calculator (POST experiments/sample-size, experiments/analyze): strict, as
insights/api/schemas.py's (a number must be a JSON number; unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = ["SampleSizeRequest", "AnalyzeRequest", "ConversionArm", "MeanArm", "MAX_ARMS"]

MAX_ARMS = 10
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]
Alpha = Annotated[float, Field(gt=0, le=0.5, allow_inf_nan=False,
                               description="significance level, two-sided: 0.05 gives 95% intervals")]
ArmName = Annotated[str, StringConstraints(min_length=1, max_length=64),
                    Field(description="the arm's name (1..64 characters), unique in the request")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SampleSizeRequest(_Strict):
    baseline_rate: Annotated[float | None, Field(gt=0, lt=1, allow_inf_nan=False,
                                                 description="the control's conversion rate, 0..1 (a conversion "
                                                             "metric); or give baseline_mean and baseline_sd")] = None
    baseline_mean: Annotated[Finite | None, Field(description="the control's mean (a continuous metric such as "
                                                              "revenue per visitor), with baseline_sd")] = None
    baseline_sd: Annotated[float | None, Field(gt=0, le=1e12, allow_inf_nan=False,
                                               description="the metric's standard deviation per unit, with "
                                                           "baseline_mean")] = None
    minimum_detectable_effect: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False,
                                                      description="the smallest increase worth detecting: a "
                                                                  "fraction of the baseline when mde_type is "
                                                                  "relative (0.1 = +10%), in the metric's units "
                                                                  "when absolute (0.01 = +1 point of rate)")]
    mde_type: Annotated[Literal["relative", "absolute"], Field(description="how minimum_detectable_effect is "
                                                                           "given (default relative)")] = "relative"
    alpha: Alpha = 0.05
    power: Annotated[float, Field(ge=0.5, lt=1, allow_inf_nan=False,
                                  description="probability of detecting the effect when it is real (0.8)")] = 0.8
    ratio: Annotated[float, Field(ge=0.01, le=100, allow_inf_nan=False,
                                  description="treatment units per control unit (1: equal arms)")] = 1.0

    @model_validator(mode="after")
    def _one_metric(self) -> SampleSizeRequest:
        has_rate = self.baseline_rate is not None
        has_mean = self.baseline_mean is not None or self.baseline_sd is not None
        if has_rate == has_mean:
            raise ValueError("give baseline_rate (a conversion metric) or baseline_mean and baseline_sd "
                             "(a continuous metric), not both and not neither")
        if has_mean and (self.baseline_mean is None or self.baseline_sd is None):
            raise ValueError("a continuous metric needs both baseline_mean and baseline_sd")
        return self


class ConversionArm(_Strict):
    name: ArmName
    visitors: Annotated[int, Field(ge=1, le=10**12, description="units exposed to the arm")]
    conversions: Annotated[int, Field(ge=0, le=10**12, description="units that converted (<= visitors)")]

    @model_validator(mode="after")
    def _at_most_visitors(self) -> ConversionArm:
        if self.conversions > self.visitors:
            raise ValueError(f"arm {self.name!r}: conversions ({self.conversions}) exceed visitors ({self.visitors})")
        return self


class MeanArm(_Strict):
    name: ArmName
    n: Annotated[int, Field(ge=2, le=10**12, description="units measured in the arm")]
    mean: Annotated[Finite, Field(description="the metric's mean in the arm")]
    sd: Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False, description="the metric's sample standard "
                                                                             "deviation in the arm")]


class AnalyzeRequest(_Strict):
    arms: Annotated[list[ConversionArm] | list[MeanArm], Field(
        min_length=2, max_length=MAX_ARMS,
        description="2..10 arms, all of one kind: {name, visitors, conversions} for a conversion metric or {name, "
                    "n, mean, sd} for a continuous one")]
    control: Annotated[str | None, Field(description="the control arm's name (default: the first arm)")] = None
    alpha: Alpha = 0.05

    @model_validator(mode="after")
    def _names(self) -> AnalyzeRequest:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be unique")
        if self.control is not None and self.control not in names:
            raise ValueError(f"control {self.control!r} is not one of the arms {names}")
        return self
