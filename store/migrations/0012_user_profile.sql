-- Allot schema, version 12: what a directory says about a user, and when
-- an object last changed.
--
-- The profile columns are Graph's user properties that license reports
-- select and filter on (allot.Profile). They are columns, not one JSON
-- document, so that $filter and $orderby run in SQL on both databases;
-- extension attributes likewise, one column each. Sign-ins are what an
-- import or SCIM wrote ('' when unknown). on_prem_sync is -1 for a user
-- never synchronised from on-premises (Graph's onPremisesSyncEnabled null),
-- not NULL, so that bulk inserts carry one type per column.
-- modified_at is SCIM's meta.lastModified: set to created_at for
-- existing rows.
ALTER TABLE users ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN surname TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN department TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN company_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN employee_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN employee_type TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN street_address TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN postal_code TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN office_location TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mobile_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN preferred_language TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN user_type TEXT NOT NULL DEFAULT 'Member';
ALTER TABLE users ADD COLUMN external_user_state TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN creation_type TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN business_phones TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN other_mails TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN on_prem_sync INTEGER NOT NULL DEFAULT -1;
ALTER TABLE users ADD COLUMN ext_attr_1 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_2 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_3 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_4 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_5 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_6 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_7 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_8 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_9 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_10 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_11 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_12 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_13 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_14 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ext_attr_15 TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_sign_in TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN last_non_interactive_sign_in TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN modified_at TEXT NOT NULL DEFAULT '';
UPDATE users SET modified_at = created_at;

ALTER TABLE dir_groups ADD COLUMN modified_at TEXT NOT NULL DEFAULT '';
UPDATE dir_groups SET modified_at = created_at;
