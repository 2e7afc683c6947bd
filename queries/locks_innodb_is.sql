-- Locks that block or wait, raw. MySQL 5.7, MariaDB; needs PROCESS. INNODB_LOCKS lists only
-- locks involved in a wait (a transaction's full count is INNODB_TRX.trx_rows_locked), so it
-- stays small; lockdiag joins it to the waits and transactions itself (see lock_waits_innodb_is.sql).
SELECT lock_id, lock_trx_id, lock_mode, lock_type, lock_table, lock_index, lock_data
FROM information_schema.INNODB_LOCKS
