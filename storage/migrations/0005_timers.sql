-- Version 5: a timer queue in the database (hints and time-outs), claimed with a
-- lease so that with several processes each timer fires once and a dead
-- process's timers are picked up by the others when its lease runs out.

CREATE TABLE timers (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES rounds (id),
    kind          TEXT NOT NULL,
    due_at        REAL NOT NULL,
    claimed_by    TEXT,
    claimed_until REAL,
    done_at       REAL,
    UNIQUE (round_id, kind)
);
CREATE INDEX timers_due ON timers (due_at) WHERE done_at IS NULL;
