-- Sessions. MySQL 8.0.22+ (performance_schema.processlist: no global mutex, unlike SHOW PROCESSLIST).
-- PROCESS shows all sessions; without it, only the account's own.
SELECT ID AS thread_id, USER AS user, HOST AS host, DB AS db, COMMAND AS command,
       TIME AS time_secs, STATE AS state, INFO AS info
FROM performance_schema.processlist
