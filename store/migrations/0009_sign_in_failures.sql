-- Allot schema, version 9: failed sign-ins of the admin center counted per
-- username and client address. Version 2 counted them per account, so
-- anyone could lock an administrator out by typing wrong passwords under
-- their name, and a locked account answered differently from an unknown
-- username. accounts.failed_attempts and accounts.locked_until are no
-- longer read or written; they stay so that a replica still running the
-- previous version keeps working during an upgrade.

-- username_key is the lower-case username as typed, whether or not an
-- account has it, so that a lock says nothing about which usernames exist.
-- client is the address as the admin center sees it (an IPv6 client by its
-- /64). A row is forgotten a day after its last failure (last_failed_at).
CREATE TABLE sign_in_failures (
    username_key   TEXT NOT NULL,
    client         TEXT NOT NULL,
    failures       INTEGER NOT NULL,
    locked_until   TEXT NOT NULL DEFAULT '',
    last_failed_at TEXT NOT NULL,
    PRIMARY KEY (username_key, client)
);
CREATE INDEX sign_in_failures_last ON sign_in_failures (last_failed_at);
