internal import GRDB

extension MarketingSchema {
    /// Migration `marketing-1-mirrors-and-opportunities`.
    static func mirrorsAndOpportunities(_ db: Database) throws {
        try db.execute(
            sql: """
                -- What Marketing knows of each customer, from the customer feed: the latest
                -- CustomerChanged payload, with the columns segments and opportunities use.
                CREATE TABLE customer_mirror (
                    customer_id TEXT PRIMARY KEY,
                    status INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    value_grade INTEGER NOT NULL,
                    credit_grade TEXT NOT NULL,
                    lifecycle_stage INTEGER NOT NULL,
                    birth_date TEXT NOT NULL,
                    -- "MM-DD" of the birth date, for the birthday generator's index; '' if none.
                    birth_md TEXT NOT NULL,
                    relationship_manager_id TEXT NOT NULL,
                    branch_id TEXT NOT NULL,
                    merged_into_id TEXT NOT NULL,
                    assets_minor INTEGER NOT NULL,
                    monthly_contribution_minor INTEGER NOT NULL,
                    -- The first day the feed showed the customer dormant, while they are.
                    dormant_since TEXT,
                    -- The channels with a marketing consent in force, ",sms,email," ('' if none).
                    marketing_consents TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX customer_mirror_branch ON customer_mirror (branch_id);
                CREATE INDEX customer_mirror_grade ON customer_mirror (value_grade);
                CREATE INDEX customer_mirror_rm ON customer_mirror (relationship_manager_id);
                CREATE INDEX customer_mirror_birthday ON customer_mirror (birth_md);
                CREATE INDEX customer_mirror_dormant ON customer_mirror (dormant_since) WHERE dormant_since IS NOT NULL;

                -- Tags Marketing's users gave customers.
                CREATE TABLE customer_tag (
                    customer_id TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    PRIMARY KEY (customer_id, tag)
                ) WITHOUT ROWID;
                CREATE INDEX customer_tag_tag ON customer_tag (tag);

                -- Each customer's open owned accounts, as the latest customer event listed them.
                CREATE TABLE held_account (
                    customer_id TEXT NOT NULL,
                    account_number TEXT NOT NULL,
                    product_type INTEGER NOT NULL,
                    maturity_date TEXT NOT NULL,
                    reporting_balance_minor INTEGER NOT NULL,
                    monthly_contribution_minor INTEGER NOT NULL,
                    PRIMARY KEY (customer_id, account_number)
                ) WITHOUT ROWID;
                CREATE INDEX held_account_maturity ON held_account (maturity_date) WHERE maturity_date != '';
                CREATE INDEX held_account_product ON held_account (product_type, customer_id);

                -- Each customer's ServiceDesk cases as their latest event showed them (the
                -- servicedesk feed): an open complaint suppresses offers and campaign contacts.
                CREATE TABLE case_mirror (
                    case_id TEXT PRIMARY KEY,
                    customer_id TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    status INTEGER NOT NULL,
                    finished INTEGER NOT NULL,
                    opened_at_ms INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX case_mirror_open ON case_mirror (customer_id) WHERE finished = 0;
                CREATE INDEX case_mirror_customer ON case_mirror (customer_id, opened_at_ms);

                CREATE TABLE opportunity (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_id TEXT NOT NULL,
                    product TEXT NOT NULL,
                    amount_minor INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    stage INTEGER NOT NULL,
                    owner_rm_id TEXT NOT NULL,
                    branch_id TEXT NOT NULL,
                    expected_close_date TEXT NOT NULL,
                    referred_by_rm_id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL,
                    -- Set when won or lost.
                    closed_at_ms INTEGER,
                    lost_reason TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX opportunity_owner ON opportunity (owner_rm_id, closed_at_ms, key);
                CREATE INDEX opportunity_customer ON opportunity (customer_id, closed_at_ms, key);
                CREATE INDEX opportunity_closed ON opportunity (closed_at_ms);

                -- Append-only history of every stage an opportunity entered.
                CREATE TABLE opportunity_stage (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    opportunity_key INTEGER NOT NULL REFERENCES opportunity (key),
                    from_stage INTEGER NOT NULL,
                    to_stage INTEGER NOT NULL,
                    probability INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    at_ms INTEGER NOT NULL
                );
                CREATE INDEX opportunity_stage_opportunity ON opportunity_stage (opportunity_key, key);

                -- The probability of each open stage, when set (defaults otherwise).
                CREATE TABLE stage_probability (
                    stage INTEGER PRIMARY KEY,
                    percent INTEGER NOT NULL
                );

                -- Opportunities moved to the survivor when their customer was merged away;
                -- undone_at_ms is set when an unmerge moved them back. Never deleted.
                CREATE TABLE opportunity_rekey (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    opportunity_key INTEGER NOT NULL REFERENCES opportunity (key),
                    from_customer_id TEXT NOT NULL,
                    to_customer_id TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    undone_at_ms INTEGER
                );
                CREATE INDEX opportunity_rekey_open ON opportunity_rekey (from_customer_id) WHERE undone_at_ms IS NULL;

                -- RM tasks; a generated one is unique per (customer, kind, occurrence), which is
                -- what makes generation exactly once.
                CREATE TABLE rm_task (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind INTEGER NOT NULL,
                    status INTEGER NOT NULL,
                    customer_id TEXT NOT NULL,
                    owner_rm_id TEXT NOT NULL,
                    title TEXT NOT NULL,
                    due_date TEXT NOT NULL,
                    occurrence TEXT,
                    opportunity_key INTEGER REFERENCES opportunity (key),
                    outcome TEXT NOT NULL DEFAULT '',
                    reason TEXT NOT NULL DEFAULT '',
                    version INTEGER NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    closed_at_ms INTEGER
                );
                CREATE UNIQUE INDEX rm_task_occurrence ON rm_task (customer_id, kind, occurrence) WHERE occurrence IS NOT NULL;
                CREATE INDEX rm_task_owner ON rm_task (owner_rm_id, status, due_date, key);

                CREATE TABLE segment (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    filter BLOB NOT NULL,
                    version INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL
                );

                CREATE TABLE campaign (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    product TEXT NOT NULL,
                    budget_minor INTEGER NOT NULL,
                    currency TEXT NOT NULL,
                    start_date TEXT NOT NULL,
                    end_date TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    segment_key INTEGER NOT NULL REFERENCES segment (key),
                    control_percent INTEGER NOT NULL,
                    frequency_cap_contacts INTEGER NOT NULL,
                    frequency_cap_days INTEGER NOT NULL,
                    -- Counts of the last BuildTargetList, as a Suppressed message and columns.
                    targets INTEGER NOT NULL DEFAULT 0,
                    controls INTEGER NOT NULL DEFAULT 0,
                    suppressed BLOB NOT NULL DEFAULT x'',
                    list_built INTEGER NOT NULL DEFAULT 0,
                    version INTEGER NOT NULL,
                    created_at_ms INTEGER NOT NULL
                );

                -- A campaign's list: targets and the control group, with each one's furthest response.
                CREATE TABLE campaign_member (
                    campaign_key INTEGER NOT NULL REFERENCES campaign (key),
                    customer_id TEXT NOT NULL,
                    control INTEGER NOT NULL,
                    response INTEGER NOT NULL DEFAULT 0,
                    responded_at_ms INTEGER,
                    PRIMARY KEY (campaign_key, customer_id)
                ) WITHOUT ROWID;

                -- Every contact made by any campaign, for frequency caps.
                CREATE TABLE campaign_contact (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_id TEXT NOT NULL,
                    campaign_key INTEGER NOT NULL REFERENCES campaign (key),
                    at_ms INTEGER NOT NULL
                );
                CREATE INDEX campaign_contact_customer ON campaign_contact (customer_id, at_ms);

                -- The organisation, from the customer feed's org.unit.changed and org.manager.changed events.
                CREATE TABLE org_unit (
                    unit_id TEXT PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    parent_id TEXT NOT NULL,
                    closed INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE org_manager (
                    relationship_manager_id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    unit_id TEXT NOT NULL,
                    departed INTEGER NOT NULL
                ) WITHOUT ROWID;

                -- RMs' monthly targets (won amount, CNY fen).
                CREATE TABLE rm_target (
                    relationship_manager_id TEXT NOT NULL,
                    period TEXT NOT NULL,
                    target_minor INTEGER NOT NULL,
                    PRIMARY KEY (relationship_manager_id, period)
                ) WITHOUT ROWID;

                -- Next-best-offer rules, as the SetOfferRules request that set them (one row).
                CREATE TABLE offer_rules (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    rules BLOB NOT NULL
                );

                -- Settings of the relationship event generator (one row).
                CREATE TABLE event_rules (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    -- The SetEventRulesResponse in force.
                    rules BLOB NOT NULL
                );

                -- Each customer's assets as the feed reported them within the balance window,
                -- for the balance-drop warning; older rows are deleted as new ones come.
                CREATE TABLE asset_snapshot (
                    key INTEGER PRIMARY KEY AUTOINCREMENT,
                    customer_id TEXT NOT NULL,
                    at_ms INTEGER NOT NULL,
                    assets_minor INTEGER NOT NULL
                );
                CREATE INDEX asset_snapshot_customer ON asset_snapshot (customer_id, at_ms);
                """)
    }
}
