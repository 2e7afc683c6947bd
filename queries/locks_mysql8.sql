-- Held and waited locks, counted per transaction, table, index, mode and status. MySQL 8.0+;
-- SELECT on performance_schema. data_locks can hold millions of rows: the server aggregates,
-- the largest groups come first, at most ? groups are fetched, and the totals say what was left out.
SELECT t.PROCESSLIST_ID AS thread_id, l.ENGINE_TRANSACTION_ID AS trx_id,
       l.OBJECT_SCHEMA AS lock_schema, l.OBJECT_NAME AS lock_table_name, l.INDEX_NAME AS lock_index,
       l.LOCK_TYPE AS lock_type, l.LOCK_MODE AS lock_mode, l.LOCK_STATUS AS lock_status,
       COUNT(*) AS lock_count, SUM(COUNT(*)) OVER () AS total_locks
FROM performance_schema.data_locks l
LEFT JOIN performance_schema.threads t ON t.THREAD_ID = l.THREAD_ID
GROUP BY t.PROCESSLIST_ID, l.ENGINE_TRANSACTION_ID, l.OBJECT_SCHEMA, l.OBJECT_NAME, l.INDEX_NAME,
         l.LOCK_TYPE, l.LOCK_MODE, l.LOCK_STATUS
ORDER BY lock_count DESC
LIMIT ?
