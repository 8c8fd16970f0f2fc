-- daily_sales: units sold (returns excluded), revenue and average price per product and day
-- for order_date in [start, end). Days without sales have no row: models fill the calendar.
-- promo_share: the units-weighted share of the day's units sold on promotion; a line is on promotion when
-- on_promotion is true or its unit_price is more than 0.5 percent below its list_price (0 when neither is known).
-- list_price: the units-weighted mean list price of the lines that have one (null when none has).
SELECT
    order_date AS sale_date,
    product_id,
    CAST(sum(quantity) AS bigint) AS quantity,
    sum(CAST(quantity AS double) * unit_price) AS revenue,
    sum(CAST(quantity AS double) * unit_price) / CAST(sum(quantity) AS double) AS price,
    max(category) AS category,
    sum(CASE WHEN on_promotion OR unit_price < list_price * 0.995 THEN CAST(quantity AS double) ELSE 0.0 END)
        / CAST(sum(quantity) AS double) AS promo_share,
    sum(CASE WHEN list_price > 0 THEN CAST(quantity AS double) * list_price END)
        / sum(CASE WHEN list_price > 0 THEN CAST(quantity AS double) END) AS list_price
FROM orders
WHERE order_date >= DATE %(start)s
  AND order_date < DATE %(end)s
  AND quantity > 0
  AND unit_price > 0  -- free lines (zero price, kept for their customers) are not priced demand
GROUP BY order_date, product_id
ORDER BY product_id, sale_date
