-- The table's columns, to validate --columns/--where names and to learn how a UNIQUE index compares
-- each one (its collation: string types only). All servers; SELECT on the table.
SELECT COLUMN_NAME AS column_name, DATA_TYPE AS data_type, COLLATION_NAME AS collation_name,
       IS_NULLABLE AS is_nullable
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION
