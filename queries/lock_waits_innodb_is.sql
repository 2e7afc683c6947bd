-- Row-lock waits. MySQL 5.7, MariaDB 10.x/11.x (information_schema.INNODB_LOCK_WAITS); needs PROCESS.
SELECT r.trx_mysql_thread_id AS waiting_thread_id, r.trx_id AS waiting_trx_id,
       b.trx_mysql_thread_id AS blocking_thread_id, b.trx_id AS blocking_trx_id,
       rl.lock_table AS lock_table, rl.lock_index AS lock_index, rl.lock_type AS lock_type,
       rl.lock_mode AS lock_mode, bl.lock_mode AS blocking_lock_mode, rl.lock_data AS lock_data,
       IF(EXISTS (SELECT 1 FROM information_schema.INNODB_LOCK_WAITS q WHERE q.requested_lock_id = w.blocking_lock_id),
          'WAITING', 'GRANTED') AS blocking_lock_status,
       TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS wait_secs
FROM information_schema.INNODB_LOCK_WAITS w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
LEFT JOIN information_schema.INNODB_LOCKS rl ON rl.lock_id = w.requested_lock_id
LEFT JOIN information_schema.INNODB_LOCKS bl ON bl.lock_id = w.blocking_lock_id
