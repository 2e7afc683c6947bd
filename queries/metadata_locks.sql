-- Metadata locks, granted and pending, mapped to processlist ids (OWNER_THREAD_ID is a
-- performance_schema THREAD_ID). MySQL 5.7+, MariaDB 10.5+ with performance_schema=ON and the
-- wait/lock/metadata/sql/mdl instrument enabled; SELECT on performance_schema.
SELECT t.PROCESSLIST_ID AS thread_id, m.OBJECT_TYPE AS object_type, m.OBJECT_SCHEMA AS object_schema,
       m.OBJECT_NAME AS object_name, m.LOCK_TYPE AS lock_type, m.LOCK_STATUS AS lock_status,
       m.LOCK_DURATION AS lock_duration
FROM performance_schema.metadata_locks m
JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
WHERE t.PROCESSLIST_ID IS NOT NULL
