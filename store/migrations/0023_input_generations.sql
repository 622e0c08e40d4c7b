-- Allot schema, version 23: generations of what processing reads.
--
-- A group walk reads its next batch's users, memberships, assignments and
-- addresses on another connection while the current batch is evaluated and
-- written (store/ahead.go). Those reads may be used only if nothing they
-- read has changed since: every transaction that writes one of those
-- tables bumps its tenant's generation here ('' for writes of no one
-- tenant), and the next batch compares the generations with those the
-- reads were made under.
CREATE TABLE input_generations (
    scope TEXT PRIMARY KEY,
    gen   BIGINT NOT NULL
);
