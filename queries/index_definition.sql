-- One index's definition: unique or not (NON_UNIQUE 0; PRIMARY always is) and its columns in
-- index order (COLUMN_NAME is NULL for a MySQL 8 functional key part). Read for the indexes a
-- deadlock's locks name, so its advice fits the schema. All servers; the account sees rows only
-- for tables it has a privilege on (no rows: unknown, not "no such index").
SELECT NON_UNIQUE AS non_unique, SEQ_IN_INDEX AS seq_in_index, COLUMN_NAME AS column_name
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?
ORDER BY SEQ_IN_INDEX
