-- Whether autovacuum runs on this server. The hot statements are prepared
-- once per connection, and their plans are made again only when ANALYZE
-- (which autovacuum runs as the tables grow) gives the planner new
-- statistics; without it, plans made while the tables were small keep
-- scanning them whole.
SELECT current_setting('autovacuum')::bool AS autovacuum
