-- The deadlock prints in MySQL's in-memory error log (performance_schema.error_log, 8.0.22+: the
-- only error log a managed server such as RDS lets a client read). With innodb_print_all_deadlocks
-- every deadlock is MY-012468 ("Transactions deadlock detected") followed by MY-012469 entries,
-- one per section header ("*** (1) TRANSACTION:", ..., "*** WE ROLL BACK TRANSACTION (2)"): the
-- transactions and locks themselves go to the log file only. Only entries after the last one
-- read (LOGGED, server time).
-- MySQL 8.0.22+; SELECT on performance_schema.
SELECT DATE_FORMAT(LOGGED, '%Y-%m-%d %H:%i:%s.%f') AS logged, THREAD_ID AS thread_id, PRIO AS prio,
       ERROR_CODE AS error_code, SUBSYSTEM AS subsystem, DATA AS data
FROM performance_schema.error_log
WHERE ERROR_CODE IN ('MY-012468', 'MY-012469') AND LOGGED > ?
  -- settled entries only: a deadlock being printed right now is read whole on the next poll
  AND LOGGED < NOW(6) - INTERVAL 500000 MICROSECOND
ORDER BY LOGGED
LIMIT 100000
