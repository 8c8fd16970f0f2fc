-- customer_products: one row per customer and product the customer bought (a line of positive quantity) before
-- the cutoff: purchase days, spend, and for the recommendations' backtest the purchase days before `split` and
-- whether (1/0) the product is in the customer's next basket (the first purchase day on or after `split`).
-- Cutoff convention: only order lines with order_date < DATE cutoff (the cutoff day itself excluded).
WITH lines AS (
    SELECT customer_id, product_id, order_date, CAST(quantity AS double) * unit_price AS amount
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
),
next_day AS (
    SELECT customer_id, min(order_date) AS basket_day
    FROM lines
    WHERE order_date >= DATE %(split)s
    GROUP BY customer_id
)
SELECT
    l.customer_id,
    l.product_id,
    CAST(count(DISTINCT l.order_date) AS integer) AS purchase_days,
    CAST(count(DISTINCT l.order_date) FILTER (WHERE l.order_date < DATE %(split)s) AS integer) AS days_before_split,
    sum(l.amount) AS spend,
    CAST(max(CASE WHEN l.order_date = n.basket_day THEN 1 ELSE 0 END) AS integer) AS in_next_basket
FROM lines AS l
LEFT JOIN next_day AS n ON n.customer_id = l.customer_id
GROUP BY l.customer_id, l.product_id
ORDER BY l.customer_id, l.product_id
