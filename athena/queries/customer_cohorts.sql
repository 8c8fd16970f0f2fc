-- customer_cohorts: one row per acquisition cohort and calendar period (month or week) in which it was active.
-- A customer's cohort is the period of their first purchase ever (a line of positive quantity) before the end;
-- only cohorts starting on or after start are kept (the refresh bounds their number). active_customers = the
-- cohort's customers with a purchase in the period; revenue = their net spend in it (returns subtract).
-- end is the first day of the period holding as_of: only complete periods are counted.
WITH lines AS (
    SELECT customer_id, order_date, quantity, CAST(quantity AS double) * unit_price AS amount
    FROM orders
    WHERE order_date < DATE %(end)s
      AND customer_id IS NOT NULL
),
firsts AS (
    SELECT customer_id, CAST(date_trunc(%(period)s, min(order_date)) AS date) AS cohort
    FROM lines
    WHERE quantity > 0
    GROUP BY customer_id
),
activity AS (
    SELECT l.customer_id, f.cohort, CAST(date_trunc(%(period)s, l.order_date) AS date) AS period_start,
           sum(l.amount) AS revenue,
           max(CASE WHEN l.quantity > 0 THEN 1 ELSE 0 END) AS bought
    FROM lines AS l
    JOIN firsts AS f ON f.customer_id = l.customer_id
    WHERE f.cohort >= DATE %(start)s
    GROUP BY l.customer_id, f.cohort, CAST(date_trunc(%(period)s, l.order_date) AS date)
)
SELECT cohort, period_start,
       CAST(sum(bought) AS bigint) AS active_customers,
       sum(revenue) AS revenue
FROM activity
WHERE period_start >= cohort
GROUP BY cohort, period_start
ORDER BY cohort, period_start
