-- Row-lock waits, raw. MySQL 5.7, MariaDB 10.x/11.x; needs PROCESS.
-- information_schema tables are materialised for every reference, so joining them on the
-- server is slow (with 200 sessions queued on one row, 20,100 wait rows: ~3 s for the join,
-- 50 ms for this). lockdiag joins INNODB_LOCK_WAITS, INNODB_LOCKS and INNODB_TRX itself.
SELECT requesting_trx_id, requested_lock_id, blocking_trx_id, blocking_lock_id
FROM information_schema.INNODB_LOCK_WAITS
