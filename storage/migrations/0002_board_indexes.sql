-- Version 2: covering indexes so leaderboards aggregate from the index alone
-- (a board over a million ledger rows must not visit the table).

DROP INDEX ledger_board;
DROP INDEX ledger_user;
CREATE INDEX ledger_by_period ON ledger (space, game, created_at, user_id, points);
CREATE INDEX ledger_by_player ON ledger (space, user_id, game, created_at, points, reason);
