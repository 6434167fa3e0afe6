-- v2: deliveries carry their event's sequence number, and an instance's queue is in that order: a dead letter
-- sent again, or a replayed event, takes its event's place among the pending deliveries (see
-- Webhooks.ReplayWebhooks). Rows from before have seq 0: they are older than every delivery queued after this
-- migration, and go first. webhook_deliveries_queue (state, instance_id, id) stays for the admin API's lists.
--
-- queued_ms is when a delivery was last queued (0: at created_ms): the dead-letter age counts from it, while
-- the retention still counts from created_ms, which for a replayed delivery is its event's time.
ALTER TABLE webhook_deliveries ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN queued_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (state, instance_id, seq, id);
