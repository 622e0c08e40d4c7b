-- PostgreSQL only: the skeletons of version 10 are keys compared for
-- equality on every write of a name, so they compare by bytes like the
-- other keys (version 8).
ALTER TABLE users ALTER COLUMN upn_skeleton TYPE TEXT COLLATE "C";
ALTER TABLE dir_groups ALTER COLUMN mail_nickname_skeleton TYPE TEXT COLLATE "C";
ALTER TABLE addresses ALTER COLUMN skeleton TYPE TEXT COLLATE "C";
