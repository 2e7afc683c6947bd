-- One session, read again right before its KILL, when lockdiag did not read the transactions
-- (over --max-row-waits: filling InnoDB's INNODB_TRX cache would hold its lock latch for seconds,
-- once per target). PROCESSLIST is read live; the session's transaction is not compared (the
-- kill's result says so). MariaDB: QUERY_ID tells statements apart. cache_fresh is 1: no cache read.
SELECT p.USER AS user, p.HOST AS host, p.COMMAND AS command, p.TIME AS time_secs, p.INFO AS info,
       p.QUERY_ID AS query_id, NULL AS trx_id, NULL AS trx_started, 1 AS cache_fresh
FROM information_schema.PROCESSLIST p
WHERE p.ID = ?
