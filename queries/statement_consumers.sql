-- Whether the statement history of sessions is kept: the consumers (and the instrumentation
-- levels above them). MySQL 5.7+ (on by default on 8.0), MariaDB 10.5+ (history off by default);
-- SELECT on performance_schema.
SELECT NAME AS name, ENABLED AS enabled
FROM performance_schema.setup_consumers
WHERE NAME IN ('global_instrumentation', 'thread_instrumentation',
               'events_statements_current', 'events_statements_history')
