public import GRDB


/// ServiceDeskService's schema. Migrations never change once shipped; a change is a new migration.
/// Keys are `INTEGER PRIMARY KEY AUTOINCREMENT` so that a deleted row's key is never reused.
public enum ServiceDeskSchema {
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("servicedesk-1-cases-and-sla") { db in
            try db.execute(
                sql: """
                    CREATE TABLE service_case (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind INTEGER NOT NULL,
                        category TEXT NOT NULL,
                        channel INTEGER NOT NULL,
                        priority INTEGER NOT NULL,
                        customer_id TEXT NOT NULL,
                        customer_value_grade INTEGER NOT NULL,
                        account_ref TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        description TEXT NOT NULL,
                        queue TEXT NOT NULL,
                        assignee TEXT NOT NULL,
                        status TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        opened_at_ms INTEGER NOT NULL,
                        closed_at_ms INTEGER,
                        branch_id TEXT NOT NULL,
                        escalation_level INTEGER NOT NULL DEFAULT 0,
                        -- 1 once resolved, closed or cancelled: queues list open cases by default.
                        finished INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX service_case_queue ON service_case (queue, finished, key);
                    CREATE INDEX service_case_customer ON service_case (customer_id, finished);

                    -- Append-only history of every transition.
                    CREATE TABLE case_transition (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        case_key INTEGER NOT NULL REFERENCES service_case (key),
                        from_status TEXT NOT NULL,
                        to_status TEXT NOT NULL,
                        event TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        assignee TEXT NOT NULL,
                        at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX case_transition_case ON case_transition (case_key, key);

                    -- One row per SLA instance; next_fire_ms is when its next action (warning, then
                    -- breach) falls due while it runs, NULL otherwise: the sweep reads only due rows.
                    CREATE TABLE sla_clock (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        case_key INTEGER NOT NULL REFERENCES service_case (key),
                        metric TEXT NOT NULL,
                        started_at_ms INTEGER NOT NULL,
                        target_minutes INTEGER NOT NULL,
                        warning_percent INTEGER NOT NULL,
                        stopped_at_ms INTEGER,
                        state TEXT NOT NULL,
                        warning_fired INTEGER NOT NULL,
                        breach_fired INTEGER NOT NULL,
                        next_fire_ms INTEGER
                    );
                    CREATE INDEX sla_clock_case ON sla_clock (case_key, key);
                    CREATE INDEX sla_clock_next_fire ON sla_clock (next_fire_ms);

                    -- Pauses are appended, and closed once by setting end_ms; never deleted.
                    CREATE TABLE sla_pause (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        clock_key INTEGER NOT NULL REFERENCES sla_clock (key),
                        start_ms INTEGER NOT NULL,
                        end_ms INTEGER
                    );
                    CREATE INDEX sla_pause_clock ON sla_pause (clock_key, key);

                    CREATE TABLE sla_policy (
                        kind INTEGER NOT NULL,
                        priority INTEGER NOT NULL,
                        value_grade INTEGER NOT NULL,
                        first_response_minutes INTEGER NOT NULL,
                        resolution_minutes INTEGER NOT NULL,
                        warning_percent INTEGER NOT NULL,
                        PRIMARY KEY (kind, priority, value_grade)
                    );

                    -- The one business calendar, as the SetBusinessCalendar request that set it.
                    CREATE TABLE business_calendar (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        definition BLOB NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("servicedesk-2-customer-mirror") { db in
            try db.execute(
                sql: """
                    -- What ServiceDesk knows of each customer, from the customer feed: the latest
                    -- CustomerChanged payload, with the columns cases are checked and targeted by.
                    CREATE TABLE customer_mirror (
                        customer_id TEXT PRIMARY KEY,
                        status INTEGER NOT NULL,
                        value_grade INTEGER NOT NULL,
                        branch_id TEXT NOT NULL,
                        merged_into_id TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;

                    -- Cases moved to the survivor when their customer was merged away; undone_at_ms
                    -- is set when an unmerge moved them back. Never deleted.
                    CREATE TABLE case_rekey (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        case_key INTEGER NOT NULL REFERENCES service_case (key),
                        from_customer_id TEXT NOT NULL,
                        to_customer_id TEXT NOT NULL,
                        at_ms INTEGER NOT NULL,
                        undone_at_ms INTEGER
                    );
                    CREATE INDEX case_rekey_open ON case_rekey (from_customer_id) WHERE undone_at_ms IS NULL;
                    """)
        }
        migrator.registerMigration("servicedesk-3-resolution-queues-knowledge-calendars") { db in
            try db.execute(
                sql: """
                    ALTER TABLE service_case ADD COLUMN resolved_at_ms INTEGER;
                    ALTER TABLE service_case ADD COLUMN root_cause TEXT NOT NULL DEFAULT '';
                    ALTER TABLE service_case ADD COLUMN resolution_code TEXT NOT NULL DEFAULT '';
                    ALTER TABLE service_case ADD COLUMN compensation_minor INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE service_case ADD COLUMN compensation_currency TEXT NOT NULL DEFAULT '';
                    ALTER TABLE service_case ADD COLUMN satisfaction_score INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE service_case ADD COLUMN satisfaction_comment TEXT NOT NULL DEFAULT '';
                    ALTER TABLE service_case ADD COLUMN satisfaction_at_ms INTEGER;
                    ALTER TABLE service_case ADD COLUMN satisfaction_via TEXT NOT NULL DEFAULT '';
                    ALTER TABLE service_case ADD COLUMN parent_key INTEGER REFERENCES service_case (key);
                    ALTER TABLE service_case ADD COLUMN duplicate_of_key INTEGER REFERENCES service_case (key);
                    -- Reports read the cases opened in a window; least-loaded assignment counts open
                    -- cases per agent.
                    CREATE INDEX service_case_opened ON service_case (opened_at_ms);
                    CREATE INDEX service_case_open_assignee ON service_case (queue, assignee) WHERE finished = 0;

                    -- One-time satisfaction tokens: only the SHA-256 of the token is kept.
                    CREATE TABLE satisfaction_token (
                        token_sha256 BLOB PRIMARY KEY,
                        case_key INTEGER NOT NULL REFERENCES service_case (key),
                        expires_at_ms INTEGER NOT NULL,
                        used_at_ms INTEGER
                    ) WITHOUT ROWID;

                    -- Who works a queue, how ASSIGN without an assignee picks one (next_agent is the
                    -- round-robin cursor, moved in the transaction that assigns), and where a breach
                    -- moves its cases.
                    CREATE TABLE case_queue (
                        queue TEXT PRIMARY KEY,
                        strategy TEXT NOT NULL,
                        next_agent INTEGER NOT NULL DEFAULT 0,
                        escalation_queue TEXT NOT NULL DEFAULT ''
                    ) WITHOUT ROWID;
                    CREATE TABLE queue_agent (
                        queue TEXT NOT NULL REFERENCES case_queue (queue),
                        position INTEGER NOT NULL,
                        agent TEXT NOT NULL,
                        PRIMARY KEY (queue, position)
                    ) WITHOUT ROWID;

                    CREATE TABLE kb_article (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        title TEXT NOT NULL,
                        body TEXT NOT NULL,
                        category TEXT NOT NULL,
                        status TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        created_at_ms INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    );
                    -- The search index: rowid is the article's key; the text is as SearchText
                    -- splits it (Chinese runs into characters and pairs), so unicode61 sees words.
                    CREATE VIRTUAL TABLE kb_search USING fts5 (title, body, tokenize = 'unicode61 remove_diacritics 2');

                    CREATE TABLE case_article (
                        case_key INTEGER NOT NULL REFERENCES service_case (key),
                        article_key INTEGER NOT NULL REFERENCES kb_article (key),
                        linked_at_ms INTEGER NOT NULL,
                        actor TEXT NOT NULL,
                        PRIMARY KEY (case_key, article_key)
                    ) WITHOUT ROWID;
                    CREATE INDEX case_article_article ON case_article (article_key);

                    -- A branch's own business calendar (its time zone, hours and holidays), as the
                    -- SetBusinessCalendar request that set it; branches without one use the default.
                    CREATE TABLE branch_calendar (
                        branch_id TEXT PRIMARY KEY,
                        definition BLOB NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("servicedesk-4-category-tree") { db in
            try db.execute(
                sql: """
                    -- The managed category tree; empty means any well-formed path is accepted.
                    CREATE TABLE case_category (
                        path TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        retired INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }
}
