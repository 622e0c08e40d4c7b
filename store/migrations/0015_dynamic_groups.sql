-- Allot schema, version 15: dynamic membership groups
-- (docs/DYNAMIC-GROUPS.md, store/dynamic.go).
--
-- A dynamic group's members are ordinary membership rows, written by its
-- rule: licensing reads them as it reads assigned members, and added_at is
-- when the rule added the user (the waiting room's order). rule_state is
-- '' for a group with assigned membership, else 'On' or 'Paused';
-- rule_applied_at is when the rule last finished a walk of every user.
-- A rule's walk is a work item of kind 'rule' whose target is the group.
ALTER TABLE dir_groups ADD COLUMN membership_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_groups ADD COLUMN rule_state TEXT NOT NULL DEFAULT '';
ALTER TABLE dir_groups ADD COLUMN rule_applied_at TEXT NOT NULL DEFAULT '';
CREATE INDEX dir_groups_dynamic ON dir_groups (tenant_id, rule_state);
