-- customer_labels: what each customer known before the cutoff did in [cutoff, cutoff + horizon_days).
-- With the cutoff convention (features see order_date < cutoff) the label window starts on the cutoff day.
WITH known AS (
    SELECT DISTINCT customer_id
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
),
future_orders AS (
    SELECT customer_id, order_id,
           sum(CAST(quantity AS double) * unit_price) AS order_value,
           count(*) FILTER (WHERE quantity > 0) AS purchase_lines
    FROM orders
    WHERE order_date >= DATE %(cutoff)s
      AND order_date < date_add('day', %(horizon_days)s, DATE %(cutoff)s)
      AND customer_id IS NOT NULL
    GROUP BY customer_id, order_id
),
future AS (
    SELECT customer_id,
           count(*) FILTER (WHERE purchase_lines > 0) AS future_orders,
           sum(order_value) AS future_spend
    FROM future_orders
    GROUP BY customer_id
)
SELECT
    k.customer_id,
    coalesce(f.future_orders, 0) AS future_orders,
    coalesce(f.future_spend, 0.0) AS future_spend,
    CASE WHEN coalesce(f.future_orders, 0) > 0 THEN 1 ELSE 0 END AS purchased
FROM known AS k
LEFT JOIN future AS f ON f.customer_id = k.customer_id
ORDER BY k.customer_id
