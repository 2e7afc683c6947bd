-- The InnoDB monitor text (deadlock section, transactions). All servers; needs PROCESS.
SHOW ENGINE INNODB STATUS
