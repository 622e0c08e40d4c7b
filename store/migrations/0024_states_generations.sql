-- Allot schema, version 24: generations of the users' states.
--
-- A group walk now reads its next batch's states ahead too (store/ahead.go).
-- Every transaction that writes a tenant's states bumps the row
-- 'states:<tenant>' of input_generations, and a batch keeps the states read
-- ahead only if no commit but the batch before it (of other users) wrote
-- states since. Replicas older than this version write states without
-- bumping it, so an upgrade across it stops every replica first. The rows
-- are made by the first write; none can exist before this version.
DELETE FROM input_generations WHERE scope LIKE 'states:%';
