-- Whether every deadlock is written to the error log (MySQL 5.6+, MariaDB 10.0+); any account.
SELECT @@GLOBAL.innodb_print_all_deadlocks AS print_all_deadlocks
