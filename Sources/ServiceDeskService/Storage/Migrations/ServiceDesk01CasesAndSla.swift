internal import GRDB

extension ServiceDeskSchema {
    /// Migration `servicedesk-1-cases-and-sla`.
    static func casesAndSla(_ db: Database) throws {
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
}
