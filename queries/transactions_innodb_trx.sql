-- Open InnoDB transactions. MySQL 5.7+, MariaDB; needs PROCESS.
SELECT trx_id, trx_mysql_thread_id AS thread_id, trx_state AS state, trx_started AS started,
       TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age_secs,
       TIMESTAMPDIFF(SECOND, trx_wait_started, NOW()) AS wait_secs,
       trx_rows_locked AS rows_locked, trx_rows_modified AS rows_modified,
       trx_tables_locked AS tables_locked, trx_lock_structs AS lock_structs,
       trx_isolation_level AS isolation_level, trx_operation_state AS operation_state,
       trx_query AS query, trx_requested_lock_id AS requested_lock_id
FROM information_schema.INNODB_TRX
