-- Version 3: INSERT OR REPLACE on an existing ledger id deleted the old row
-- without firing ledger_no_delete (REPLACE skips delete triggers unless
-- recursive_triggers is on). Refuse any insert that reuses an id.

CREATE TRIGGER ledger_no_replace BEFORE INSERT ON ledger
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM ledger WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
