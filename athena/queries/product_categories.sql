-- product_categories: one row per product sold to a known customer before the cutoff, with its category: the
-- category on most of its lines (ties: the smallest name); null when its lines carry none.
WITH counted AS (
    SELECT product_id, category, count(*) AS lines
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
      AND category IS NOT NULL
      AND category <> ''
    GROUP BY product_id, category
),
ranked AS (
    SELECT product_id, category,
           row_number() OVER (PARTITION BY product_id ORDER BY lines DESC, category) AS rank
    FROM counted
)
SELECT p.product_id, r.category
FROM (SELECT DISTINCT product_id FROM orders
      WHERE order_date < DATE %(cutoff)s AND customer_id IS NOT NULL AND quantity > 0) AS p
LEFT JOIN ranked AS r ON r.product_id = p.product_id AND r.rank = 1
ORDER BY p.product_id
