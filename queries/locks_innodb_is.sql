-- Locks that block or wait, counted per transaction, table, index, mode and status.
-- MySQL 5.7, MariaDB; needs PROCESS. INNODB_LOCKS lists only locks involved in a wait, so a
-- transaction's full count is INNODB_TRX.trx_rows_locked (shown beside it).
SELECT trx.trx_mysql_thread_id AS thread_id, l.lock_trx_id AS trx_id, l.lock_table AS lock_table,
       l.lock_index AS lock_index, l.lock_type AS lock_type, l.lock_mode AS lock_mode,
       IF(EXISTS (SELECT 1 FROM information_schema.INNODB_LOCK_WAITS w WHERE w.requested_lock_id = l.lock_id),
          'WAITING', 'GRANTED') AS lock_status,
       COUNT(*) AS lock_count
FROM information_schema.INNODB_LOCKS l
LEFT JOIN information_schema.INNODB_TRX trx ON trx.trx_id = l.lock_trx_id
GROUP BY trx.trx_mysql_thread_id, l.lock_trx_id, l.lock_table, l.lock_index, l.lock_type, l.lock_mode, lock_status
ORDER BY lock_count DESC
LIMIT ?
