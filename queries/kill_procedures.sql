-- Managed services forbid KILL of other accounts' threads but offer procedures:
-- Amazon RDS/Aurora mysql.rds_kill / rds_kill_query, Azure mysql.az_kill / az_kill_query.
-- All servers; no privilege needed to see routine names the account may execute.
SELECT ROUTINE_NAME AS routine_name
FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = 'mysql' AND ROUTINE_NAME IN ('rds_kill', 'rds_kill_query', 'az_kill', 'az_kill_query')
