-- The table's columns, to validate --columns/--where names. All servers; SELECT on the table.
SELECT COLUMN_NAME AS column_name, DATA_TYPE AS data_type
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION
