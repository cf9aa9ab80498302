-- Consumer ARGV[1] is alive (while busy it does not fetch).
redis.call('ZADD', p .. ':consumers', now_ms(), ARGV[1])
return 0
