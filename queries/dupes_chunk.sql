-- One primary-key chunk of a duplicate scan: a plain autocommitted consistent read (no FOR UPDATE,
-- no LOCK IN SHARE MODE: it takes no row locks and holds no read view between chunks).
-- {select}, {table}, {after}, {filter} and {order} are filled with names validated against
-- information_schema and quoted; every value is a bound parameter. All servers; SELECT on the table.
SELECT {select} FROM {table} WHERE {after} {filter} ORDER BY {order} LIMIT {chunk}
