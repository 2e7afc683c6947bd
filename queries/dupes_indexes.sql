-- The table's indexes: the primary key (for chunking), unique keys (do they already cover the columns?),
-- and any index starting with the key columns (read in its order, groups arrive whole). SUB_PART is a
-- prefix length (such an index does not order by the whole value); COLLATION 'A' is ascending.
-- All servers; SELECT on the table.
SELECT INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, SEQ_IN_INDEX AS seq_in_index,
       COLUMN_NAME AS column_name, SUB_PART AS sub_part, COLLATION AS sort_order
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
ORDER BY INDEX_NAME, SEQ_IN_INDEX
