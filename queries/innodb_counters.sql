-- InnoDB's own counters, computed at each read (unlike INNODB_TRX, which is a cache): its
-- deadlock count and the number of row-lock waits in progress. They tell whether the listed
-- transactions are all the server has (a stale or truncated cache lists fewer waiters).
-- MySQL 5.6+, MariaDB 10.0+ (both counters on by default); needs PROCESS.
SELECT
  (SELECT MAX(COUNT) FROM information_schema.INNODB_METRICS
     WHERE NAME = 'lock_deadlocks') AS deadlocks,
  (SELECT MAX(COUNT) FROM information_schema.INNODB_METRICS
     WHERE NAME = 'lock_row_lock_current_waits') AS row_lock_current_waits
