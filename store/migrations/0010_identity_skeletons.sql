-- Allot schema, version 10: names that look alike, and who acted.
--
-- Each userPrincipalName, group mailNickname and listed address gets its
-- skeleton (allot.IdentifierSkeleton, a subset of Unicode TR39): a new name
-- whose skeleton is that of an existing, different name is refused, so
-- "аdmin@" with a Cyrillic а cannot sit beside "admin@". The skeleton is
-- computed in Go; here only plain ASCII names are filled in, whose skeleton
-- is their lower-case text. Older non-ASCII rows keep '' and the store
-- computes theirs when it compares, as it does for rows written by a
-- replica still running the previous version. The indexes are not unique:
-- look-alikes written before this version must not stop the upgrade.
ALTER TABLE users ADD COLUMN upn_skeleton TEXT NOT NULL DEFAULT '';
UPDATE users SET upn_skeleton = upn_key WHERE length(upn_key) = octet_length(upn_key);
CREATE INDEX users_upn_skeleton ON users (tenant_id, upn_skeleton);

ALTER TABLE dir_groups ADD COLUMN mail_nickname_skeleton TEXT NOT NULL DEFAULT '';
UPDATE dir_groups SET mail_nickname_skeleton = lower(mail_nickname) WHERE length(mail_nickname) = octet_length(mail_nickname);
CREATE INDEX dir_groups_nickname_skeleton ON dir_groups (tenant_id, mail_nickname_skeleton);

ALTER TABLE addresses ADD COLUMN skeleton TEXT NOT NULL DEFAULT '';
UPDATE addresses SET skeleton = address WHERE length(address) = octet_length(address);
CREATE INDEX addresses_skeleton ON addresses (tenant_id, skeleton);

-- The audit log's actor is the name of a token or account, which its
-- creator chooses freely ("demo LicenseAdministrator"). Beside it now: the
-- kind of actor (token, account, operator, system; '' before this
-- version), the token's or account's id and the role it acted with.
ALTER TABLE audit ADD COLUMN actor_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN actor_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN actor_role TEXT NOT NULL DEFAULT '';
