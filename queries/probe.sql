-- The recorder's probe, first part: what costs the server nothing to tell — metadata-lock waits
-- from the processlist, and InnoDB's own counters (INNODB_METRICS, computed at each read):
-- deadlocks and row-lock waits in progress. The count decides whether the second part
-- (probe_innodb_trx.sql) is read: InnoDB's transaction cache costs the server seconds at a
-- few thousand waiters. MySQL 5.7/8.x, MariaDB; needs PROCESS.
SELECT
  (SELECT COUNT(*) FROM information_schema.PROCESSLIST
     WHERE STATE LIKE 'Waiting for%metadata lock') AS mdl_waiting,
  (SELECT COALESCE(MAX(TIME), 0) FROM information_schema.PROCESSLIST
     WHERE STATE LIKE 'Waiting for%metadata lock') AS longest_mdl_wait_secs,
  (SELECT MAX(COUNT) FROM information_schema.INNODB_METRICS
     WHERE NAME = 'lock_deadlocks') AS deadlocks,
  (SELECT MAX(COUNT) FROM information_schema.INNODB_METRICS
     WHERE NAME = 'lock_row_lock_current_waits') AS row_lock_current_waits
