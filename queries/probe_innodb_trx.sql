-- The recorder's probe, second part, read while InnoDB counts no more row-lock waits than
-- --max-row-waits: the waits and the oldest transaction from InnoDB's transaction cache. Its
-- count of waiters may be below InnoDB's counter when the cache is stale (another client polling
-- it faster than every 100 ms) or cut (its 16 MB limit): the probe takes the larger.
-- MySQL 5.7/8.x, MariaDB; needs PROCESS.
SELECT
  (SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') AS row_waiting,
  (SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_wait_started, NOW())), 0)
     FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT') AS longest_row_wait_secs,
  (SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())), 0)
     FROM information_schema.INNODB_TRX) AS oldest_trx_secs
