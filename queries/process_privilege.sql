-- Whether the current account holds PROCESS (or SUPER) globally: without it the processlist and the
-- InnoDB tables show only its own sessions or nothing. All servers; no privilege needed.
SELECT COUNT(*) AS has_process
FROM information_schema.USER_PRIVILEGES
WHERE PRIVILEGE_TYPE IN ('PROCESS', 'SUPER')
  AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')
