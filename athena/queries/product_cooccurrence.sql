-- product_cooccurrence: for each pair of products bought by the same customer before the cutoff, how many
-- customers bought both (each unordered pair once, product_a < product_b); pairs nobody bought together are
-- absent. The recommendations' item-item counts, aggregated by the engine (a self-join per customer) so that a
-- sharded refresh needs no pass over every customer's rows in one place. The same purchases as customer_products:
-- a line of positive quantity by a known customer.
-- Cutoff convention: only order lines with order_date < DATE cutoff (the cutoff day itself excluded).
WITH bought AS (
    SELECT DISTINCT customer_id, product_id
    FROM orders
    WHERE order_date < DATE %(cutoff)s
      AND customer_id IS NOT NULL
      AND quantity > 0
)
SELECT
    a.product_id AS product_a,
    b.product_id AS product_b,
    CAST(count(*) AS bigint) AS customers
FROM bought AS a
JOIN bought AS b ON b.customer_id = a.customer_id AND a.product_id < b.product_id
GROUP BY a.product_id, b.product_id
