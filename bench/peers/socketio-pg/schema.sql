-- Schema of the Socket.IO + PostgreSQL reference peer (see README.md).
-- The same entities as Parley's 1:1 chat: a tenant with a widget key,
-- agents (users), visitors, conversations with a gap-free per-conversation
-- sequence, and messages that are idempotent per (conversation, client_id).

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    widget_key  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    password_hash text NOT NULL,               -- scrypt$<salt hex>$<key hex>
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email)
);

CREATE TABLE visitors (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    name        text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE conversations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    visitor_id  uuid NOT NULL REFERENCES visitors (id),
    status      text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'waiting', 'pending', 'snoozed', 'resolved', 'closed')),
    assignee_id uuid REFERENCES users (id),
    last_seq    integer NOT NULL DEFAULT 0,    -- bumped in the same transaction as each INSERT below
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_tenant_updated ON conversations (tenant_id, updated_at DESC);
CREATE INDEX conversations_visitor ON conversations (visitor_id);

CREATE TABLE messages (
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    seq             integer NOT NULL,
    client_id       text NOT NULL CHECK (octet_length(client_id) BETWEEN 1 AND 64),
    kind            text NOT NULL DEFAULT 'message',
    sender_type     text NOT NULL CHECK (sender_type IN ('visitor', 'agent', 'system')),
    sender_id       uuid,
    text            text NOT NULL,
    private         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, client_id)        -- idempotent send
);
