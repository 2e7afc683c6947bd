-- Server uptime in seconds. All servers; no privilege needed.
SHOW GLOBAL STATUS WHERE Variable_name = 'Uptime'
