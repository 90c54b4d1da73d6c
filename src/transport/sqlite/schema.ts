/** The broker's tables in the SQLite file. Created idempotently by whichever process opens the file first. */

/** Columns added since the first release, as [table, column, definition]: added to older files on open. */
export const MIGRATE: readonly (readonly [string, string, string])[] = [['celeriac_messages', 'expires_at', 'INTEGER']];

/** Indexes on migrated columns, made once MIGRATE ran. Messages with a deadline, for the TTL sweep. */
export const AFTER_MIGRATE = `
CREATE INDEX IF NOT EXISTS celeriac_messages_expiry ON celeriac_messages (expires_at) WHERE expires_at IS NOT NULL;
`;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS celeriac_messages (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  queue       TEXT    NOT NULL,
  priority    INTEGER NOT NULL DEFAULT 0,
  tag         TEXT    NOT NULL UNIQUE,
  envelope    TEXT    NOT NULL,
  visible_at  INTEGER NOT NULL,            -- ready: when it was stored; held: when its hold runs out
  owner       TEXT,                        -- consumer holding it, NULL when ready
  redelivered INTEGER NOT NULL DEFAULT 0,
  expires_at  INTEGER                      -- message TTL: dropped, never delivered, once this (ms) has passed
);
-- Ready messages only: a claim never walks past held ones.
CREATE INDEX IF NOT EXISTS celeriac_messages_ready ON celeriac_messages (queue, priority DESC, id) WHERE owner IS NULL;
CREATE INDEX IF NOT EXISTS celeriac_messages_owner ON celeriac_messages (owner) WHERE owner IS NOT NULL;
-- Held messages by deadline, for the visibility-timeout sweep.
CREATE INDEX IF NOT EXISTS celeriac_messages_held ON celeriac_messages (visible_at) WHERE owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS celeriac_queues (
  name        TEXT PRIMARY KEY,
  declaration TEXT NOT NULL
);
-- Queues declared with expires (AMQP x-expires): deleted once unused for that many ms.
CREATE TABLE IF NOT EXISTS celeriac_queue_expiry (
  name        TEXT PRIMARY KEY,
  expires     INTEGER NOT NULL,
  used_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS celeriac_exchanges (
  name        TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  declaration TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS celeriac_bindings (
  exchange    TEXT NOT NULL,
  queue       TEXT NOT NULL,
  routing_key TEXT NOT NULL,
  PRIMARY KEY (exchange, queue, routing_key)
);
CREATE TABLE IF NOT EXISTS celeriac_owners (
  owner       TEXT PRIMARY KEY,
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  seen_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS celeriac_dead_letters (
  id          TEXT PRIMARY KEY,
  queue       TEXT NOT NULL,
  reason      TEXT NOT NULL,
  at          INTEGER NOT NULL,
  envelope    TEXT NOT NULL
);
`;
