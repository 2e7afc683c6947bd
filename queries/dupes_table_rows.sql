-- The table's estimated row count (for the progress bar). All servers.
SELECT TABLE_ROWS AS table_rows FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
