-- Appended to lock_waits_mysql8.sql and lock_waits_mysql8_no_process.sql (their `w` is
-- data_lock_waits, `bl` the blocking lock's data_locks row). MySQL 8.0+.
-- Only what the analysis needs, never the pair rows: data_lock_waits has a row per (waiter,
-- earlier lock in the queue) pair, N(N+1)/2 for N sessions on one row (2 million at 2,000).
-- A waiter is kept with the GRANTED locks that block it; only a waiter that no granted lock
-- blocks (a request queued behind an incompatible queued one) keeps its queue rows; a blocking
-- lock missing from data_locks (the tables disagree for a moment) is kept as the server said.
WHERE bl.LOCK_STATUS = 'GRANTED'
   OR bl.LOCK_STATUS IS NULL
   OR w.REQUESTING_ENGINE_LOCK_ID NOT IN (
        SELECT g.REQUESTING_ENGINE_LOCK_ID
        FROM performance_schema.data_lock_waits g
        JOIN performance_schema.data_locks gl
          ON gl.ENGINE = g.ENGINE AND gl.ENGINE_LOCK_ID = g.BLOCKING_ENGINE_LOCK_ID
        WHERE gl.LOCK_STATUS = 'GRANTED')
