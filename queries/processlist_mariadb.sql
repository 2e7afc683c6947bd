-- Sessions on MariaDB, with QUERY_ID (the current statement's id, which KILL QUERY ID takes).
-- PROCESS shows all sessions; without it, only the account's own.
SELECT ID AS thread_id, USER AS user, HOST AS host, DB AS db, COMMAND AS command,
       TIME AS time_secs, STATE AS state, INFO AS info, QUERY_ID AS query_id
FROM information_schema.PROCESSLIST
