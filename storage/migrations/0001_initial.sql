-- Version 1: players, rounds, the append-only points ledger, drawings kept for
-- training, dialect answers, per-space settings, model usage, custom banks.

CREATE TABLE players (
    space        TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    display_name TEXT NOT NULL,
    is_ai        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (space, user_id)
);

CREATE TABLE rounds (
    id         INTEGER PRIMARY KEY,
    space      TEXT NOT NULL,
    channel    TEXT NOT NULL,
    game       TEXT NOT NULL CHECK (game IN ('drawing', 'dialect')),
    status     TEXT NOT NULL CHECK (status IN ('open', 'won', 'timeout', 'skipped', 'expired')),
    starter    TEXT NOT NULL,
    secret     TEXT NOT NULL,
    locale     TEXT NOT NULL,
    payload    TEXT NOT NULL DEFAULT '{}',
    started_at REAL NOT NULL,
    ends_at    REAL NOT NULL,
    closed_at  REAL,
    winner     TEXT
);
-- One open round per channel, enforced by the database itself.
CREATE UNIQUE INDEX rounds_one_open ON rounds (space, channel) WHERE status = 'open';
CREATE INDEX rounds_by_space ON rounds (space, game, started_at);

CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY,
    space      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    round_id   INTEGER NOT NULL REFERENCES rounds (id),
    game       TEXT NOT NULL,
    points     INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX ledger_board ON ledger (space, game, created_at, user_id);
CREATE INDEX ledger_user ON ledger (space, user_id, created_at);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TABLE participants (
    round_id INTEGER NOT NULL REFERENCES rounds (id),
    user_id  TEXT NOT NULL,
    role     TEXT NOT NULL CHECK (role IN ('drawer', 'guesser', 'answerer')),
    PRIMARY KEY (round_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id);

CREATE TABLE dialect_answers (
    round_id    INTEGER NOT NULL REFERENCES rounds (id),
    user_id     TEXT NOT NULL,
    answer      TEXT NOT NULL,
    score       REAL NOT NULL,
    answered_at REAL NOT NULL,
    PRIMARY KEY (round_id, user_id)
);

CREATE TABLE drawings (
    id         INTEGER PRIMARY KEY,
    round_id   INTEGER NOT NULL REFERENCES rounds (id),
    space      TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    upload_no  INTEGER NOT NULL,
    image      BLOB NOT NULL,
    mime       TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    word_id    TEXT NOT NULL,
    label_en   TEXT NOT NULL,
    label_ko   TEXT NOT NULL,
    ai_guess   TEXT,
    ai_model   TEXT,
    ai_correct INTEGER,
    created_at REAL NOT NULL,
    UNIQUE (round_id, upload_no)
);
CREATE INDEX drawings_by_space ON drawings (space, created_at);

CREATE TABLE settings (
    space TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (space, key)
);

CREATE TABLE usage (
    id                INTEGER PRIMARY KEY,
    space             TEXT NOT NULL,
    game              TEXT NOT NULL,
    purpose           TEXT NOT NULL,
    model             TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    image_tokens      INTEGER NOT NULL,
    cost_usd          REAL NOT NULL,
    estimated         INTEGER NOT NULL,
    created_at        REAL NOT NULL
);
CREATE INDEX usage_by_space ON usage (space, created_at);

CREATE TABLE custom_words (
    space   TEXT NOT NULL,
    word_id TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (space, word_id)
);

CREATE TABLE custom_dialect (
    space   TEXT NOT NULL,
    item_id TEXT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (space, item_id)
);

CREATE TABLE seen_events (
    event_id TEXT PRIMARY KEY,
    seen_at  REAL NOT NULL
);
CREATE INDEX seen_events_by_time ON seen_events (seen_at);
