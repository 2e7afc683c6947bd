-- The last statements (performance_schema keeps about 10 per thread) of the sessions whose
-- processlist ids are bound as {ids}. MySQL 5.7+, MariaDB 10.5+ with the consumers
-- events_statements_current and events_statements_history on; SELECT on performance_schema.
-- TIMER_START counts picoseconds on the server's own timer: "how long ago" is measured against
-- this very statement's TIMER_START (lockdiag's connection, in events_statements_current).
SELECT t.PROCESSLIST_ID AS thread_id, h.EVENT_ID AS event_id, h.SQL_TEXT AS sql_text,
       CAST((me.TIMER_START - h.TIMER_START) / 1000000000000 AS UNSIGNED) AS started_secs_ago,
       h.ROWS_AFFECTED AS rows_affected, h.ROWS_EXAMINED AS rows_examined,
       h.MYSQL_ERRNO AS errno, h.MESSAGE_TEXT AS message
FROM performance_schema.events_statements_history h
JOIN performance_schema.threads t ON t.THREAD_ID = h.THREAD_ID
LEFT JOIN performance_schema.threads mt ON mt.PROCESSLIST_ID = CONNECTION_ID()
LEFT JOIN performance_schema.events_statements_current me ON me.THREAD_ID = mt.THREAD_ID
WHERE t.PROCESSLIST_ID IN ({ids}) AND h.SQL_TEXT IS NOT NULL
ORDER BY t.PROCESSLIST_ID, h.EVENT_ID
