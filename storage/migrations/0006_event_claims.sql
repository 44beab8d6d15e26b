-- Version 6: an event id is claimed by a process and marked done once handled, so that a
-- platform's resend of an event whose claimer died before handling it is handled by another
-- process instead of being ignored (the answer or guess would otherwise be lost).
ALTER TABLE seen_events ADD COLUMN process TEXT;
ALTER TABLE seen_events ADD COLUMN done INTEGER NOT NULL DEFAULT 1;
