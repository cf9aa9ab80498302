-- A worker process that stopped (everything it held is handed back) leaves.
DELETE FROM workers WHERE id = $1
