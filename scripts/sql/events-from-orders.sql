-- The `events` columns (`localrec train --format parquet`) from a shop's own tables, for shops
-- whose behaviour is not in GA4. Adapt the table and column names; any engine that writes
-- Parquet (BigQuery EXPORT DATA, Snowflake COPY INTO ... FILE_FORMAT = (TYPE = PARQUET), Spark)
-- will do. One row per event; `timestamp` in any unit (only the order matters).
SELECT customer_id AS user_id, viewed_at AS timestamp, 'view' AS event, sku AS item_id,
       CAST(NULL AS STRING) AS query, CAST(NULL AS STRING) AS category
FROM product_views
UNION ALL
SELECT customer_id, added_at, 'cart', sku, NULL, NULL FROM cart_additions
UNION ALL
SELECT o.customer_id, o.placed_at, 'purchase', l.sku, NULL, NULL
FROM orders AS o JOIN order_lines AS l ON l.order_id = o.order_id
UNION ALL
SELECT customer_id, searched_at, 'search', NULL, search_text, NULL FROM site_searches
