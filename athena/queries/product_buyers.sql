-- product_buyers: per product bought before the cutoff (a line of positive quantity by a known customer) its
-- buyers, the buyers who bought it on two or more days, and the number of such customers in all (one value,
-- repeated on every row): the recommendations' product statistics, aggregated by the engine so that a sharded
-- refresh fits the model without reading every customer's rows in one place (insights/refresh/recommendations.py).
-- The same rows as customer_products: purchase days count distinct order dates.
-- Cutoff convention: only order lines with order_date < DATE cutoff (the cutoff day itself excluded).
WITH days AS (
    SELECT customer_id, product_id, count(DISTINCT order_date) AS purchase_days
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
    GROUP BY customer_id, product_id
),
everyone AS (
    SELECT CAST(count(DISTINCT customer_id) AS bigint) AS customers FROM days
)
SELECT
    d.product_id,
    CAST(count(*) AS bigint) AS buyers,
    CAST(count(*) FILTER (WHERE d.purchase_days > 1) AS bigint) AS repeat_buyers,
    max(e.customers) AS customers
FROM days AS d
CROSS JOIN everyone AS e
GROUP BY d.product_id
ORDER BY d.product_id
