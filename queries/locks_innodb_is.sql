-- Locks that block or wait, raw. MySQL 5.7, MariaDB; needs PROCESS. INNODB_LOCKS lists only
-- locks involved in a wait (a transaction's full count is INNODB_TRX.trx_rows_locked): one row
-- per waiting request and per lock that blocks one, so N sessions queued on one row are N+1
-- rows. lockdiag derives the waits from these and INNODB_TRX.trx_requested_lock_id itself and
-- never reads INNODB_LOCK_WAITS, which holds a row per (waiter, earlier lock in the queue)
-- pair: N(N+1)/2 rows, 2 million at 2,000 sessions, whose materialisation is most of the cost.
SELECT lock_id, lock_trx_id, lock_mode, lock_type, lock_table, lock_index, lock_data
FROM information_schema.INNODB_LOCKS
