-- Gateways keep the API keys they have checked for a while
-- (`auth.key_cache_seconds`) and forget one the moment it changes: every
-- change that can end a key (revoked, its secret or owner rewritten, the
-- key or its tenant deleted) is announced on the channel `voxline_api_keys`
-- with the key's public prefix, delivered when its transaction commits.
-- Recording a key's last use changes none of these and announces nothing.
CREATE FUNCTION announce_api_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('voxline_api_keys', OLD.prefix);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed
AFTER UPDATE OF revoked_at, secret_hash, tenant_id, prefix OR DELETE ON api_keys
FOR EACH ROW EXECUTE FUNCTION announce_api_key_change();
