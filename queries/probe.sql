-- The recorder's probe: one cheap statement telling whether anything waits or is old, and whether
-- InnoDB counted a new deadlock. Reads InnoDB's transaction cache and the processlist; no lock
-- tables, no status text. INNODB_METRICS is computed at each read: its count of row-lock waits in
-- progress stands in when the INNODB_TRX cache is stale (another client polling it faster than every
-- 100 ms) or cut (its 16 MB limit). MySQL 5.7/8.x, MariaDB; needs PROCESS.
SELECT
  (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') AS row_waiting,
  (SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_wait_started, NOW())), 0)
     FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') AS longest_row_wait_secs,
  (SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())), 0)
     FROM information_schema.INNODB_TRX) AS oldest_trx_secs,
  (SELECT COUNT(*) FROM information_schema.PROCESSLIST
     WHERE STATE LIKE 'Waiting for%metadata lock') AS mdl_waiting,
  (SELECT COALESCE(MAX(TIME), 0) FROM information_schema.PROCESSLIST
     WHERE STATE LIKE 'Waiting for%metadata lock') AS longest_mdl_wait_secs,
  (SELECT MAX(COUNT) FROM information_schema.INNODB_METRICS
     WHERE NAME = 'lock_deadlocks') AS deadlocks,
  (SELECT MAX(COUNT) FROM information_schema.INNODB_METRICS
     WHERE NAME = 'lock_row_lock_current_waits') AS row_lock_current_waits
