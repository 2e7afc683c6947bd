-- Which lock and session tables this server has and this account may read: decides the sources.
-- All servers. information_schema.TABLES lists only tables the account has a privilege on: its own
-- schema's tables always, performance_schema's only with SELECT on them (no row here then).
SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name
FROM information_schema.TABLES
WHERE (TABLE_SCHEMA = 'performance_schema'
       AND TABLE_NAME IN ('processlist', 'data_locks', 'data_lock_waits', 'metadata_locks', 'threads', 'setup_instruments', 'error_log'))
   OR (TABLE_SCHEMA = 'information_schema'
       AND TABLE_NAME IN ('INNODB_LOCKS', 'INNODB_LOCK_WAITS', 'INNODB_TRX', 'PROCESSLIST'))
