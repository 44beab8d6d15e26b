-- Version 4: board totals kept beside the ledger (same transaction), the
-- outbox of results to announce, and the processes that serve the spaces.
-- Totals of an existing ledger are built by catchbot right after this runs.

CREATE TABLE board_zones (
    space TEXT PRIMARY KEY,
    zone  TEXT NOT NULL
);

CREATE TABLE board_periods (
    zone         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end   INTEGER NOT NULL,
    PRIMARY KEY (zone, kind, period_start)
) WITHOUT ROWID;

CREATE TABLE board_totals (
    space        TEXT NOT NULL,
    game         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('all', 'week', 'month')),
    period_start INTEGER NOT NULL,
    user_id      TEXT NOT NULL,
    points       INTEGER NOT NULL,
    first_id     INTEGER NOT NULL,
    PRIMARY KEY (space, game, kind, period_start, user_id)
) WITHOUT ROWID;
CREATE INDEX board_totals_rank ON board_totals (space, game, kind, period_start, points DESC, first_id);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    round_id     INTEGER NOT NULL REFERENCES rounds (id),
    space        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   REAL NOT NULL,
    announced_at REAL
);
CREATE INDEX outbox_pending ON outbox (id) WHERE announced_at IS NULL;

CREATE TABLE processes (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at REAL NOT NULL,
    seen_at    REAL NOT NULL
);

ALTER TABLE rounds ADD COLUMN holder TEXT;
