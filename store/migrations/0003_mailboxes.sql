-- Which users own the addresses they list (they hold an enabled mailbox
-- plan) moves out of the users row into a narrow table: processing a large
-- group then inserts small rows instead of rewriting every user row and
-- all of its indexes.
CREATE TABLE mailboxes (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

INSERT INTO mailboxes (tenant_id, user_id) SELECT tenant_id, id FROM users WHERE mailbox = 1;

ALTER TABLE users DROP COLUMN mailbox;
