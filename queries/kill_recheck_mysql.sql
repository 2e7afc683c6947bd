-- One session and its transaction, read again right before its KILL, on the connection that sends it.
-- MySQL 5.7/8.x: no statement id in the processlist, so the statement's text and start (TIME) tell
-- statements apart. INNODB_TRX comes from InnoDB's cache,
-- refreshed only when unread for 100 ms; run inside a read-only transaction opened just before, so
-- cache_fresh > 0 proves the cache was refreshed after that: it lists this very
-- statement, found by the mark lockdiag puts into its text ({mark}: new for every re-check).
SELECT p.USER AS user, p.HOST AS host, p.COMMAND AS command, p.TIME AS time_secs, p.INFO AS info,
       t.trx_id AS trx_id, t.trx_started AS trx_started,
       (SELECT COUNT(*) FROM information_schema.INNODB_TRX o
         WHERE o.trx_mysql_thread_id = CONNECTION_ID() AND o.trx_query LIKE '%{mark}%') AS cache_fresh
FROM information_schema.PROCESSLIST p
LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
WHERE p.ID = ?
