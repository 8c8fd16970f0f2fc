import numpy as np
import pytest

from models.cadence import detect_cadence, to_grain, trading_weekdays, weekday

START = np.datetime64("2024-01-01")  # a Monday
DAYS = START + np.arange(364)


def test_weekday_is_monday_zero():
    assert weekday(np.array(["2024-01-01", "2024-01-07"], dtype="datetime64[D]")).tolist() == [0, 6]


def test_a_product_sold_every_day_is_daily_on_all_weekdays():
    c = detect_cadence(DAYS, np.ones(364))
    assert c.grain == "daily" and c.trading_weekdays == tuple(range(7)) and c.period_days == 1
    assert c.n_periods == 364 and c.n_sale_days == 364 and c.anchor_weekday is None


def test_a_shop_closed_on_sundays_has_no_sunday_periods():
    q = np.where(weekday(DAYS) == 6, 0.0, 3.0)
    c = detect_cadence(DAYS, q)
    assert c.grain == "daily" and c.trading_weekdays == (0, 1, 2, 3, 4, 5) and c.n_periods == 312
    assert "never trades on weekday(s) [6]" in c.reason


def test_a_product_never_sold_on_saturdays_inside_an_open_shop():
    q = np.where(weekday(DAYS) == 5, 0.0, 1.0)
    assert detect_cadence(DAYS, q, shop_weekdays=tuple(range(7))).trading_weekdays == (0, 1, 2, 3, 4, 6)


def test_a_slow_seller_is_not_mistaken_for_a_closed_weekday():
    rng = np.random.default_rng(0)
    q = (rng.random(364) < 0.3).astype(float)  # ~15 sale days per weekday: every weekday stays open
    c = detect_cadence(DAYS, q)
    assert c.grain == "daily" and c.trading_weekdays == tuple(range(7))
    assert trading_weekdays(DAYS[:20]) == tuple(range(7))  # too little evidence to close a weekday


def test_a_weekly_feed_is_weekly_anchored_on_its_weekday():
    thursdays = np.datetime64("2024-01-04") + 7 * np.arange(105)
    c = detect_cadence(thursdays)
    assert c.grain == "weekly" and c.anchor_weekday == 3 and c.trading_weekdays == (3,)
    assert c.period_days == 7 and c.n_periods == 105 and c.n_sale_days == 105
    filled = thursdays[0] + np.arange(729)  # the same feed on a zero-filled calendar
    q = np.isin(filled, thursdays).astype(float)
    assert detect_cadence(filled, q).n_periods == 105


def test_scattered_sales_are_irregular_and_go_on_weeks():
    rng = np.random.default_rng(1)
    q = (rng.random(364) < 0.05).astype(float)
    c = detect_cadence(DAYS, q)
    assert c.grain == "irregular" and c.period_days == 7 and "weeks" in c.reason


def test_weekly_grain_sums_units_and_weights_the_price_by_units():
    days = START + 3 + np.arange(21)  # three weeks from a Thursday, zero-filled
    q = np.zeros(21)
    q[0], q[7], q[14] = 10.0, 30.0, 20.0
    p = np.full(21, 2.0)
    p[7:14] = 3.0
    p[15] = 99.0  # a zero-sales day's carried price does not enter a week with sales
    c = detect_cadence(days, q)
    g = to_grain(days, q, p, c, covariates={"promo": (np.arange(21) // 7 == 1).astype(float)})
    assert g.grain == "weekly" and g.quantity.tolist() == [10.0, 30.0, 20.0] and g.price.tolist() == [2.0, 3.0, 2.0]
    assert g.dates.tolist() == [days[0], days[7], days[14]] and g.covariates["promo"].tolist() == [0.0, 1.0, 0.0]


def test_repeated_days_are_summed_with_a_units_weighted_price():
    days = np.array(["2024-01-01", "2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    c = detect_cadence(START + np.arange(7), np.ones(7))
    g = to_grain(days, np.array([1.0, 3.0, 2.0]), np.array([4.0, 2.0, 5.0]), c)
    assert g.quantity.tolist() == [4.0, 2.0] and g.price.tolist() == [2.5, 5.0]


def test_daily_grain_keeps_only_trading_days_and_their_zeros():
    q = np.where(weekday(DAYS) == 6, 0.0, np.where(np.arange(364) % 3 == 0, 0.0, 2.0))
    c = detect_cadence(DAYS, q)
    g = to_grain(DAYS, q, np.full(364, 9.0), c)
    assert g.quantity.size == 312 and np.all(weekday(g.dates) != 6) and (g.quantity == 0).any()
    assert np.all(g.exposure == 1)


def test_irregular_weeks_carry_their_trading_days_as_exposure():
    days = START + np.array([2, 10, 30])  # Wednesday start: a partial first week
    c = detect_cadence(days, np.ones(3))
    g = to_grain(days, np.ones(3), np.array([1.0, 2.0, 3.0]), c)
    assert c.grain == "irregular" and g.exposure[0] == 5 and np.all(g.exposure[1:-1] == 7)
    assert g.quantity.sum() == 3 and g.price[2] == 2.0  # a week without sales carries the last price


def test_to_grain_rejects_bad_input():
    c = detect_cadence(DAYS, np.ones(364))
    with pytest.raises(ValueError, match="price"):
        to_grain(DAYS[:3], np.ones(3), np.array([1.0, 0.0, 1.0]), c)
    with pytest.raises(ValueError, match="one length"):
        to_grain(DAYS[:3], np.ones(2), np.ones(3), c)
