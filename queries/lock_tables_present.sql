-- Which lock and session tables this server has: decides the sources. All servers; no privilege needed
-- (information_schema lists the tables of both system schemas to every user).
SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name
FROM information_schema.TABLES
WHERE (TABLE_SCHEMA = 'performance_schema'
       AND TABLE_NAME IN ('processlist', 'data_locks', 'data_lock_waits', 'metadata_locks', 'threads', 'setup_instruments', 'error_log'))
   OR (TABLE_SCHEMA = 'information_schema'
       AND TABLE_NAME IN ('INNODB_LOCKS', 'INNODB_LOCK_WAITS', 'INNODB_TRX', 'PROCESSLIST'))
