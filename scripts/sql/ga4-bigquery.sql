-- Exports exactly what `localrec train --format ga4` reads from a GA4 property's BigQuery
-- export, for the days you train on, with BigQuery doing the filtering at any scale.
-- Replace `my-project.analytics_123456789` and the dates, then run:
--
--   EXPORT DATA OPTIONS (uri = 'gs://my-bucket/localrec/events_*.parquet', format = 'PARQUET',
--                        compression = 'SNAPPY', overwrite = true) AS
--   <this query>
--
-- and copy the files down (`gsutil -m cp -r gs://my-bucket/localrec ./ga4`):
--   localrec train --data ./ga4 --format ga4 --out models/shop
--
-- Only the e-commerce events the trainer maps are kept (view_item, add_to_cart, purchase,
-- view_search_results / search, view_item_list), with only the columns and event parameters it
-- reads. Rows need not be sorted: the trainer orders each shopper's events by event_timestamp.
SELECT
  event_timestamp,
  event_name,
  user_id,
  user_pseudo_id,
  ARRAY(
    SELECT AS STRUCT p.key, STRUCT(p.value.string_value AS string_value) AS value
    FROM UNNEST(event_params) AS p
    WHERE p.key IN ('search_term', 'item_list_id', 'item_list_name')
  ) AS event_params,
  ARRAY(
    SELECT AS STRUCT
      i.item_id, i.item_category, i.item_category2, i.item_category3, i.item_category4,
      i.item_category5, i.item_list_id, i.item_list_name
    FROM UNNEST(items) AS i
  ) AS items
FROM `my-project.analytics_123456789.events_*`
WHERE _TABLE_SUFFIX BETWEEN '20260101' AND '20261130'
  AND event_name IN ('view_item', 'add_to_cart', 'purchase', 'view_search_results', 'search',
                     'view_item_list')
