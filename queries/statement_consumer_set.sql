-- Turns one performance_schema consumer on or off (`record --enable-statement-history`, and
-- its restore on exit). MySQL 5.7+, MariaDB 10.5+; UPDATE on performance_schema.setup_consumers.
UPDATE performance_schema.setup_consumers SET ENABLED = ? WHERE NAME = ?
