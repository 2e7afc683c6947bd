-- The table to scan, spelled as the server spells it. The names are compared as utf8mb4 so that a name
-- no identifier can hold (an emoji) finds nothing instead of "Illegal mix of collations" against
-- information_schema's utf8mb3; case-insensitively, as a user types them (exact spelling ranks first).
-- TABLE_ROWS is InnoDB's estimate (for the progress bar). All servers; lists only tables the account can see.
SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name, TABLE_ROWS AS table_rows
FROM information_schema.TABLES
WHERE CONVERT(TABLE_SCHEMA USING utf8mb4) COLLATE utf8mb4_general_ci = ?
  AND CONVERT(TABLE_NAME USING utf8mb4) COLLATE utf8mb4_general_ci = ?
