-- The same export as ga4-bigquery.sql for a GA4 export kept in a Spark / Databricks lake
-- (a table `ga4_events` with BigQuery's schema, e.g. loaded from its Parquet export):
--
--   spark.sql(open("ga4-spark.sql").read()).write.mode("overwrite").parquet("/lake/localrec/ga4")
--   localrec train --data /lake/localrec/ga4 --format ga4 --out models/shop
--
-- Spark writes a directory of part-*.parquet shards (plus _SUCCESS), which the trainer reads as
-- one log.
SELECT
  event_timestamp,
  event_name,
  user_id,
  user_pseudo_id,
  filter(
    transform(event_params, p -> named_struct('key', p.key,
                                              'value', named_struct('string_value', p.value.string_value))),
    p -> p.key IN ('search_term', 'item_list_id', 'item_list_name')
  ) AS event_params,
  transform(items, i -> named_struct(
    'item_id', i.item_id, 'item_category', i.item_category, 'item_category2', i.item_category2,
    'item_category3', i.item_category3, 'item_category4', i.item_category4,
    'item_category5', i.item_category5, 'item_list_id', i.item_list_id,
    'item_list_name', i.item_list_name)) AS items
FROM ga4_events
WHERE event_date BETWEEN '20260101' AND '20261130'
  AND event_name IN ('view_item', 'add_to_cart', 'purchase', 'view_search_results', 'search',
                     'view_item_list')
