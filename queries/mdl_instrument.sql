-- Whether metadata locks are instrumented (performance_schema.metadata_locks is empty otherwise).
-- MySQL 5.7+, MariaDB 10.5+ with performance_schema=ON; SELECT on performance_schema.
SELECT ENABLED AS enabled FROM performance_schema.setup_instruments WHERE NAME = 'wait/lock/metadata/sql/mdl'
