internal import GRDB

extension ServiceDeskSchema {
    /// Migration `servicedesk-3-resolution-queues-knowledge-calendars`.
    static func resolutionQueuesKnowledgeCalendars(_ db: Database) throws {
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
}
