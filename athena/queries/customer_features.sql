-- customer_features: one row per customer with at least one purchase before the cutoff.
-- Cutoff convention: only order lines with order_date < DATE cutoff (the cutoff day itself excluded).
-- A purchase order is an order with at least one line of positive quantity; returns count in spend.
WITH lines AS (
    SELECT customer_id, order_id, order_date, product_id, quantity,
           CAST(quantity AS double) * unit_price AS amount
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
),
per_order AS (
    SELECT customer_id, order_id, min(order_date) AS order_day,
           count(*) FILTER (WHERE quantity > 0) AS purchase_lines,
           sum(amount) AS order_value
    FROM lines
    GROUP BY customer_id, order_id
),
purchases AS (
    SELECT customer_id, order_id, order_day, purchase_lines, order_value FROM per_order WHERE purchase_lines > 0
),
purchase_days AS (
    SELECT customer_id, order_day, day_value, day_lines,
           date_diff('day', lag(order_day) OVER (PARTITION BY customer_id ORDER BY order_day), order_day) AS gap_days
    FROM (SELECT customer_id, order_day, sum(order_value) AS day_value,
                 CAST(sum(purchase_lines) AS bigint) AS day_lines
          FROM purchases
          GROUP BY customer_id, order_day) AS d
),
gaps AS (
    -- regularity, and the first purchase day's basket (says most about a one-order customer) and the last one
    -- (where a customer is heading): by day, unique per customer, so min_by/max_by are deterministic; one hash
    -- aggregate (window functions over every order cost GBs at a million customers)
    SELECT customer_id,
           avg(CAST(gap_days AS double)) AS mean_days_between_orders,
           stddev_samp(CAST(gap_days AS double)) AS std_days_between_orders,
           min_by(day_value, order_day) AS first_order_value,
           min_by(day_lines, order_day) AS first_order_lines,
           max_by(day_value, order_day) AS last_order_value,
           max(day_value) AS max_order_value
    FROM purchase_days
    GROUP BY customer_id
),
order_stats AS (
    SELECT customer_id,
           count(*) AS frequency,
           min(order_day) AS first_order_date,
           max(order_day) AS last_order_date,
           count(*) FILTER (WHERE order_day >= DATE %(cutoff)s - INTERVAL '30' DAY) AS orders_30d,
           count(*) FILTER (WHERE order_day >= DATE %(cutoff)s - INTERVAL '90' DAY) AS orders_90d,
           count(*) FILTER (WHERE order_day >= DATE %(cutoff)s - INTERVAL '180' DAY) AS orders_180d,
           count(*) FILTER (WHERE order_day >= DATE %(cutoff)s - INTERVAL '365' DAY) AS orders_365d
    FROM purchases
    GROUP BY customer_id
),
line_stats AS (
    SELECT customer_id,
           sum(amount) AS monetary_total,
           coalesce(sum(amount) FILTER (WHERE order_date >= DATE %(cutoff)s - INTERVAL '30' DAY), 0.0) AS spend_30d,
           coalesce(sum(amount) FILTER (WHERE order_date >= DATE %(cutoff)s - INTERVAL '90' DAY), 0.0) AS spend_90d,
           coalesce(sum(amount) FILTER (WHERE order_date >= DATE %(cutoff)s - INTERVAL '180' DAY), 0.0) AS spend_180d,
           coalesce(sum(amount) FILTER (WHERE order_date >= DATE %(cutoff)s - INTERVAL '365' DAY), 0.0) AS spend_365d,
           coalesce(sum(amount) FILTER (WHERE order_date >= DATE %(cutoff)s - INTERVAL '180' DAY
                                          AND order_date < DATE %(cutoff)s - INTERVAL '90' DAY), 0.0) AS spend_prev_90d,
           count(DISTINCT CASE WHEN quantity > 0 THEN product_id END) AS distinct_products,
           CAST(coalesce(sum(quantity) FILTER (WHERE quantity > 0), 0) AS bigint) AS units_bought,
           CAST(coalesce(-sum(quantity) FILTER (WHERE quantity < 0), 0) AS bigint) AS units_returned
    FROM lines
    GROUP BY customer_id
),
directory AS (
    SELECT customer_id, max(email) AS email, min(created_at) AS created_at
    FROM customers
    GROUP BY customer_id
)
SELECT
    o.customer_id,
    d.email,
    date_diff('day', o.last_order_date, DATE %(cutoff)s) AS recency_days,
    o.frequency,
    l.monetary_total,
    date_diff('day', least(o.first_order_date, coalesce(CAST(d.created_at AS date), o.first_order_date)),
              DATE %(cutoff)s) AS customer_age_days,
    l.monetary_total / CAST(o.frequency AS double) AS avg_order_value,
    g.mean_days_between_orders,
    g.std_days_between_orders,
    o.orders_30d,
    o.orders_90d,
    o.orders_180d,
    o.orders_365d,
    l.spend_30d,
    l.spend_90d,
    l.spend_180d,
    l.spend_365d,
    l.distinct_products,
    CASE WHEN l.units_bought > 0
         THEN CAST(l.units_returned AS double) / CAST(l.units_bought AS double) ELSE 0.0 END AS return_rate,
    CASE WHEN abs(l.spend_90d) + abs(l.spend_prev_90d) > 0
         THEN (l.spend_90d - l.spend_prev_90d) / (abs(l.spend_90d) + abs(l.spend_prev_90d)) ELSE 0.0 END AS spend_trend,
    g.first_order_value,
    g.first_order_lines,
    g.last_order_value,
    g.max_order_value,
    o.first_order_date,
    o.last_order_date
FROM order_stats AS o
JOIN line_stats AS l ON l.customer_id = o.customer_id
LEFT JOIN gaps AS g ON g.customer_id = o.customer_id
LEFT JOIN directory AS d ON d.customer_id = o.customer_id
ORDER BY o.customer_id
