-- Every user table the account can see: the candidates when a named table does not exist
-- ("did you mean …"). Run only after a name was not found. All servers.
SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name
FROM information_schema.TABLES
WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
  AND TABLE_TYPE = 'BASE TABLE'
ORDER BY TABLE_SCHEMA, TABLE_NAME
LIMIT 100000
