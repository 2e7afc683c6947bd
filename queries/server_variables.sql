-- Variables that change what lockdiag can see or what a finding means. All servers; no privilege needed.
-- aurora_version exists only on Amazon Aurora.
SHOW GLOBAL VARIABLES WHERE Variable_name IN
  ('innodb_deadlock_detect', 'innodb_print_all_deadlocks', 'aurora_version', 'log_error', 'innodb_lock_wait_timeout')
