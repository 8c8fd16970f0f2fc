-- customer_categories: per customer with a purchase line before the cutoff, the category of most of its spend.
-- Cutoff convention: only order lines with order_date < DATE cutoff. Purchase lines only (quantity > 0); a line
-- without a category counts as 'uncategorized'. Ties of spend go to the first category name.
WITH per_category AS (
    SELECT customer_id,
           coalesce(nullif(trim(category), ''), 'uncategorized') AS category,
           sum(CAST(quantity AS double) * unit_price) AS spend
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
    GROUP BY customer_id, coalesce(nullif(trim(category), ''), 'uncategorized')
),
ranked AS (
    SELECT customer_id, category, spend,
           row_number() OVER (PARTITION BY customer_id ORDER BY spend DESC, category) AS rk,
           sum(spend) OVER (PARTITION BY customer_id) AS total_spend,
           count(*) OVER (PARTITION BY customer_id) AS n_categories
    FROM per_category
)
SELECT customer_id,
       category AS top_category,
       CASE WHEN total_spend > 0 THEN spend / total_spend END AS top_category_share,
       CAST(n_categories AS bigint) AS n_categories
FROM ranked
WHERE rk = 1
ORDER BY customer_id
