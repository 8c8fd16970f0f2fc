-- lake_summary: the size and date span of the lake before the cutoff, for the refresh's data checks.
SELECT
    count(*) AS order_lines,
    count(DISTINCT order_id) AS orders,
    count(DISTINCT customer_id) AS customers,
    count(DISTINCT product_id) AS products,
    min(order_date) AS first_date,
    max(order_date) AS last_date,
    count(*) FILTER (WHERE quantity < 0) AS return_lines
FROM orders
WHERE order_date < DATE %(cutoff)s
