-- customer_engagement: one row per customer with an engagement event or a review before the cutoff (the optional
-- engagement and reviews tables; a lake without them gives no rows). Same cutoff convention as customer_features:
-- only rows with event_date / review_date < DATE cutoff. review_texts joins the customer's review texts, oldest
-- first, with chr(30) (the record separator): the refresh scores their sentiment in Python, per distinct text.
WITH events AS (
    SELECT customer_id, event_kind, event_date
    FROM engagement
    WHERE event_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
),
event_stats AS (
    SELECT customer_id,
           date_diff('day', max(event_date), DATE %(cutoff)s) AS days_since_engagement,
           count(*) FILTER (WHERE event_date >= DATE %(cutoff)s - INTERVAL '30' DAY) AS engagement_30d,
           count(*) FILTER (WHERE event_date >= DATE %(cutoff)s - INTERVAL '90' DAY) AS engagement_90d,
           count(*) FILTER (WHERE event_date >= DATE %(cutoff)s - INTERVAL '90' DAY
                              AND event_date < DATE %(cutoff)s - INTERVAL '30' DAY) AS engagement_prev_60d,
           count(*) FILTER (WHERE event_kind = 'email_open') AS email_opens,
           count(*) FILTER (WHERE event_kind = 'email_click') AS email_clicks
    FROM events
    GROUP BY customer_id
),
ranked AS (
    SELECT customer_id, rating, review_text, review_ts,
           row_number() OVER (PARTITION BY customer_id ORDER BY review_ts DESC, rating, review_text) AS newest
    FROM reviews
    WHERE review_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND rating BETWEEN 1 AND 5
),
review_stats AS (
    SELECT customer_id,
           count(*) AS review_count,
           avg(CAST(rating AS double)) AS mean_rating,
           max(rating) FILTER (WHERE newest = 1) AS last_rating,
           avg(CAST(rating AS double)) FILTER (WHERE newest > 1) AS earlier_mean_rating,
           array_join(array_agg(review_text ORDER BY review_ts, review_text)
                      FILTER (WHERE review_text IS NOT NULL AND review_text <> ''), chr(30)) AS review_texts
    FROM ranked
    GROUP BY customer_id
),
ids AS (
    SELECT customer_id FROM event_stats
    UNION
    SELECT customer_id FROM review_stats
)
SELECT
    i.customer_id,
    e.days_since_engagement,
    coalesce(e.engagement_30d, 0) AS engagement_30d,
    coalesce(e.engagement_90d, 0) AS engagement_90d,
    CASE WHEN coalesce(e.engagement_30d, 0) + coalesce(e.engagement_prev_60d, 0) > 0
         THEN (CAST(e.engagement_30d AS double) / 30.0 - CAST(e.engagement_prev_60d AS double) / 60.0)
              / (CAST(e.engagement_30d AS double) / 30.0 + CAST(e.engagement_prev_60d AS double) / 60.0)
         ELSE 0.0 END AS engagement_trend,
    CASE WHEN e.email_opens > 0
         THEN CAST(e.email_clicks AS double) / CAST(e.email_opens AS double) END AS email_click_rate,
    coalesce(r.review_count, 0) AS review_count,
    r.mean_rating,
    CAST(r.last_rating AS double) AS last_rating,
    CAST(r.last_rating AS double) - r.earlier_mean_rating AS rating_trend,
    r.review_texts
FROM ids AS i
LEFT JOIN event_stats AS e ON e.customer_id = i.customer_id
LEFT JOIN review_stats AS r ON r.customer_id = i.customer_id
ORDER BY i.customer_id
