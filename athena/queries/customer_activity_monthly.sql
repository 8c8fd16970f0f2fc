-- customer_activity_monthly: one row per calendar month in [start, end) with a purchase: the customers acquired
-- in it (first purchase ever) and the active base at its end (customers with a purchase in it or the two months
-- before: the churn model's 90 days in whole months). end is the first day of as_of's month: complete months only.
WITH buyer_months AS (
    SELECT customer_id, CAST(date_trunc('month', order_date) AS date) AS month_start
    FROM orders
    WHERE order_date < DATE %(end)s
      AND customer_id IS NOT NULL
      AND quantity > 0
    GROUP BY customer_id, CAST(date_trunc('month', order_date) AS date)
),
acquired AS (
    SELECT first_month AS month_start, count(*) AS new_customers
    FROM (SELECT customer_id, min(month_start) AS first_month FROM buyer_months GROUP BY customer_id) AS f
    GROUP BY first_month
),
grid AS (
    -- every month in which someone is active: a buyer's month and the two after it
    SELECT DISTINCT month_start
    FROM (SELECT month_start FROM buyer_months
          UNION ALL SELECT CAST(month_start + INTERVAL '1' MONTH AS date) FROM buyer_months
          UNION ALL SELECT CAST(month_start + INTERVAL '2' MONTH AS date) FROM buyer_months) AS shifted
    WHERE month_start >= DATE %(start)s AND month_start < DATE %(end)s
),
active AS (
    SELECT g.month_start, count(DISTINCT b.customer_id) AS active_customers
    FROM grid AS g
    JOIN buyer_months AS b
      ON b.month_start <= g.month_start AND b.month_start >= g.month_start - INTERVAL '2' MONTH
    GROUP BY g.month_start
)
SELECT a.month_start, a.active_customers, coalesce(n.new_customers, 0) AS new_customers
FROM active AS a
LEFT JOIN acquired AS n ON n.month_start = a.month_start
ORDER BY a.month_start
