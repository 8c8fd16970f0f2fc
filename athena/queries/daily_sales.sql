-- daily_sales: units sold (returns excluded), revenue and average price per product and day
-- for order_date in [start, end). Days without sales have no row: models fill the calendar.
SELECT
    order_date AS sale_date,
    product_id,
    CAST(sum(quantity) AS bigint) AS quantity,
    sum(CAST(quantity AS double) * unit_price) AS revenue,
    sum(CAST(quantity AS double) * unit_price) / CAST(sum(quantity) AS double) AS price,
    max(category) AS category
FROM orders
WHERE order_date >= DATE %(start)s
  AND order_date < DATE %(end)s
  AND quantity > 0
  AND unit_price > 0  -- free lines (zero price, kept for their customers) are not priced demand
GROUP BY order_date, product_id
ORDER BY product_id, sale_date
