-- A user owns its addresses (holds a mailbox) while its states grant a
-- mailbox plan. The flag now rides on the state rows that processing
-- writes anyway, instead of a row of its own per user: one write and one
-- lookup less per user processed (docs/PERFORMANCE.md). Processing sets
-- it on every active state of a user that holds a mailbox, so a user
-- holds one exactly when one of its rows has it.
ALTER TABLE license_states ADD COLUMN mailbox INTEGER NOT NULL DEFAULT 0;
UPDATE license_states SET mailbox = 1 WHERE state = 'Active'
    AND EXISTS (SELECT 1 FROM mailboxes m WHERE m.tenant_id = license_states.tenant_id AND m.user_id = license_states.user_id);
DROP TABLE mailboxes;
