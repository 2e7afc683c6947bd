-- Row-lock waits, for an account without PROCESS. MySQL 8.0+; SELECT on performance_schema only.
-- INNODB_TRX (the exact wait start) needs PROCESS: here the wait is the waiting statement's time
-- in the processlist (PROCESSLIST_TIME), which can only be longer than the lock wait itself.
-- data_lock_waits names performance_schema THREAD_IDs, which are NOT processlist ids:
-- they are mapped through performance_schema.threads, or KILL would hit the wrong session.
-- A blocker with no session (an XA transaction left PREPARED, a recovered one) has no processlist
-- id: it is kept, as thread 0, and reported as a transaction without a session.
SELECT rt.PROCESSLIST_ID AS waiting_thread_id, w.REQUESTING_ENGINE_TRANSACTION_ID AS waiting_trx_id,
       COALESCE(bt.PROCESSLIST_ID, 0) AS blocking_thread_id, w.BLOCKING_ENGINE_TRANSACTION_ID AS blocking_trx_id,
       rl.OBJECT_SCHEMA AS lock_schema, rl.OBJECT_NAME AS lock_table_name, rl.INDEX_NAME AS lock_index,
       rl.LOCK_TYPE AS lock_type, rl.LOCK_MODE AS lock_mode, bl.LOCK_MODE AS blocking_lock_mode,
       rl.LOCK_DATA AS lock_data, bl.LOCK_STATUS AS blocking_lock_status,
       rt.PROCESSLIST_TIME AS wait_secs
FROM performance_schema.data_lock_waits w
JOIN performance_schema.threads rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
LEFT JOIN performance_schema.threads bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID
LEFT JOIN performance_schema.data_locks rl
       ON rl.ENGINE = w.ENGINE AND rl.ENGINE_LOCK_ID = w.REQUESTING_ENGINE_LOCK_ID
LEFT JOIN performance_schema.data_locks bl
       ON bl.ENGINE = w.ENGINE AND bl.ENGINE_LOCK_ID = w.BLOCKING_ENGINE_LOCK_ID
