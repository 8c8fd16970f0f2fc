-- customer_categories: per customer with a purchase line before the cutoff, the category of most of its spend, and
-- the share of its units bought on promotion (the traits' category affinity and discount sensitivity).
-- Cutoff convention: only order lines with order_date < DATE cutoff. Purchase lines only (quantity > 0); a line
-- without a category counts as 'uncategorized'. Ties of spend go to the first category name. A line is on
-- promotion as in daily_sales (on_promotion, or a unit_price more than 0.5 percent below list_price);
-- promo_unit_share counts only the units of lines that know either field (null when none does).
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
promo AS (
    SELECT customer_id,
           sum(CASE WHEN on_promotion IS NOT NULL OR list_price IS NOT NULL THEN CAST(quantity AS double) END)
               AS known_units,
           sum(CASE WHEN on_promotion OR unit_price < list_price * 0.995 THEN CAST(quantity AS double) ELSE 0.0 END)
               AS promo_units
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
    GROUP BY customer_id
),
ranked AS (
    SELECT customer_id, category, spend,
           row_number() OVER (PARTITION BY customer_id ORDER BY spend DESC, category) AS rk,
           sum(spend) OVER (PARTITION BY customer_id) AS total_spend,
           count(*) OVER (PARTITION BY customer_id) AS n_categories
    FROM per_category
)
SELECT r.customer_id,
       r.category AS top_category,
       CASE WHEN r.total_spend > 0 THEN r.spend / r.total_spend END AS top_category_share,
       CAST(r.n_categories AS bigint) AS n_categories,
       CASE WHEN p.known_units > 0 THEN p.promo_units / p.known_units END AS promo_unit_share
FROM ranked AS r
LEFT JOIN promo AS p ON p.customer_id = r.customer_id
WHERE r.rk = 1
ORDER BY r.customer_id
