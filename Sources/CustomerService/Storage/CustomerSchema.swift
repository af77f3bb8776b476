public import GRDB
internal import WireProtocol
internal import CRMAPI

/// CustomerService's schema. Migrations never change once shipped; a change is a new migration.
///
/// Keys are `INTEGER PRIMARY KEY AUTOINCREMENT` so that a deleted row's key is never handed out
/// again (plain rowids are reused, docs/ARCHITECTURE.md "Things learned").
public enum CustomerSchema {
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("customer-1-master-data") { db in
            try db.execute(
                sql: """
                    CREATE TABLE customer (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind INTEGER NOT NULL,
                        status INTEGER NOT NULL,
                        version INTEGER NOT NULL,
                        display_name TEXT NOT NULL,
                        -- Lower-cased, space-free names for prefix search.
                        name_zh_key TEXT NOT NULL,
                        name_latin_key TEXT NOT NULL,
                        name_zh TEXT NOT NULL,
                        name_latin TEXT NOT NULL,
                        gender INTEGER NOT NULL,
                        birth_date TEXT NOT NULL,
                        nationality TEXT NOT NULL,
                        occupation TEXT NOT NULL,
                        income_band INTEGER NOT NULL,
                        legal_name TEXT NOT NULL,
                        registration_number TEXT NOT NULL,
                        industry TEXT NOT NULL,
                        company_size INTEGER NOT NULL,
                        legal_representative TEXT NOT NULL,
                        preferred_channel INTEGER NOT NULL,
                        relationship_manager_id TEXT NOT NULL,
                        branch_id TEXT NOT NULL,
                        value_grade INTEGER NOT NULL DEFAULT 0,
                        credit_grade TEXT NOT NULL DEFAULT '',
                        lifecycle_stage INTEGER NOT NULL,
                        merged_into INTEGER REFERENCES customer (key),
                        created_at_ms INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX customer_name_zh ON customer (name_zh_key);
                    CREATE INDEX customer_name_latin ON customer (name_latin_key);
                    CREATE INDEX customer_name_birth ON customer (name_zh_key, birth_date);
                    CREATE INDEX customer_latin_birth ON customer (name_latin_key, birth_date);
                    CREATE INDEX customer_legal_name ON customer (legal_name);
                    CREATE INDEX customer_registration ON customer (registration_number);
                    CREATE INDEX customer_rm ON customer (relationship_manager_id, key);
                    CREATE INDEX customer_branch ON customer (branch_id, key);
                    CREATE INDEX customer_grade ON customer (value_grade, key);

                    -- live is 1 while the customer is not merged away or erased: a document number is
                    -- unique per type among live customers only.
                    CREATE TABLE customer_document (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        position INTEGER NOT NULL,
                        type INTEGER NOT NULL,
                        number TEXT NOT NULL,
                        issuing_country TEXT NOT NULL,
                        expiry_date TEXT NOT NULL,
                        live INTEGER NOT NULL
                    );
                    CREATE UNIQUE INDEX customer_document_live ON customer_document (type, number) WHERE live = 1;
                    CREATE INDEX customer_document_number ON customer_document (number);
                    CREATE INDEX customer_document_customer ON customer_document (customer_key, position);

                    CREATE TABLE customer_contact (
                        key INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        position INTEGER NOT NULL,
                        kind INTEGER NOT NULL,
                        value TEXT NOT NULL,
                        label TEXT NOT NULL,
                        is_primary INTEGER NOT NULL,
                        line1 TEXT NOT NULL,
                        line2 TEXT NOT NULL,
                        city TEXT NOT NULL,
                        province TEXT NOT NULL,
                        postal_code TEXT NOT NULL,
                        country TEXT NOT NULL
                    );
                    CREATE INDEX customer_contact_value ON customer_contact (kind, value);
                    CREATE INDEX customer_contact_customer ON customer_contact (customer_key, position);
                    """)
            try AuditLog.createTables(db)
        }
        migrator.registerMigration("customer-2-merges") { db in
            // before_image: CustomerImage of both customers before the merge; after_digest: the
            // SHA-256 of their image right after it, which must still match for an unmerge.
            try db.execute(
                sql: """
                    CREATE TABLE customer_merge (
                        merge_id INTEGER PRIMARY KEY AUTOINCREMENT,
                        survivor_key INTEGER NOT NULL REFERENCES customer (key),
                        merged_key INTEGER NOT NULL REFERENCES customer (key),
                        reason TEXT NOT NULL,
                        before_image BLOB NOT NULL,
                        after_digest BLOB NOT NULL,
                        merged_at_ms INTEGER NOT NULL,
                        unmerged_at_ms INTEGER
                    );
                    CREATE INDEX customer_merge_survivor ON customer_merge (survivor_key);
                    CREATE INDEX customer_merge_merged ON customer_merge (merged_key);
                    -- The single customer view lists the records merged into a customer.
                    CREATE INDEX customer_merged_into ON customer (merged_into);
                    """)
        }
        migrator.registerMigration("customer-3-erasure") { db in
            try db.execute(
                sql: """
                    CREATE TABLE legal_hold (
                        hold_id INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        basis TEXT NOT NULL,
                        until_date TEXT NOT NULL,
                        placed_at_ms INTEGER NOT NULL,
                        released_at_ms INTEGER,
                        release_reason TEXT NOT NULL DEFAULT ''
                    );
                    CREATE INDEX legal_hold_customer ON legal_hold (customer_key);
                    -- Every erasure request and its outcome ('erased' or 'held'), with its basis.
                    CREATE TABLE erasure_request (
                        request_key INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        basis TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        hold_id INTEGER REFERENCES legal_hold (hold_id),
                        requested_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX erasure_request_customer ON erasure_request (customer_key);
                    -- The one change the audit log allows: blanking an erased customer's personal
                    -- values to the marker. Every other column, and any other new value, is refused.
                    DROP TRIGGER audit_log_append_only_update;
                    CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
                    WHEN NEW.sequence IS NOT OLD.sequence OR NEW.at_ms IS NOT OLD.at_ms
                        OR NEW.caller_system IS NOT OLD.caller_system OR NEW.end_user IS NOT OLD.end_user
                        OR NEW.request_id IS NOT OLD.request_id OR NEW.customer_key IS NOT OLD.customer_key
                        OR NEW.action IS NOT OLD.action OR NEW.field IS NOT OLD.field
                        OR NEW.before_digest IS NOT OLD.before_digest OR NEW.after_digest IS NOT OLD.after_digest
                        OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.hash IS NOT OLD.hash
                        OR (NEW.before IS NOT OLD.before AND NEW.before IS NOT '\(AuditLog.erasedMarker)')
                        OR (NEW.after IS NOT OLD.after AND NEW.after IS NOT '\(AuditLog.erasedMarker)')
                    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
                    """)
        }
        migrator.registerMigration("customer-4-accounts-interactions-grades") { db in
            try db.execute(
                sql: """
                    -- An account as core banking reports it; holders in account_holder.
                    CREATE TABLE account (
                        account_number TEXT PRIMARY KEY,
                        product_type INTEGER NOT NULL,
                        balance_minor INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        reporting_balance_minor INTEGER NOT NULL,
                        opened_on TEXT NOT NULL,
                        closed_on TEXT NOT NULL,
                        maturity_date TEXT NOT NULL,
                        monthly_contribution_minor INTEGER NOT NULL,
                        changed_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE account_holder (
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        account_number TEXT NOT NULL REFERENCES account (account_number),
                        role INTEGER NOT NULL,
                        PRIMARY KEY (customer_key, account_number)
                    ) WITHOUT ROWID;
                    CREATE INDEX account_holder_account ON account_holder (account_number);
                    CREATE INDEX account_maturity ON account (maturity_date) WHERE maturity_date != '';

                    CREATE TABLE interaction (
                        interaction_id INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        channel INTEGER NOT NULL,
                        subject TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        handled_by TEXT NOT NULL,
                        at_ms INTEGER NOT NULL,
                        recorded_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX interaction_customer ON interaction (customer_key, interaction_id);

                    -- Grade 5 is everyone below grade 4's thresholds. Amounts in CNY fen.
                    CREATE TABLE value_grade_rule (
                        grade INTEGER PRIMARY KEY CHECK (grade BETWEEN 1 AND 4),
                        min_assets_minor INTEGER NOT NULL,
                        min_annual_contribution_minor INTEGER NOT NULL
                    );
                    INSERT INTO value_grade_rule VALUES
                        (1, 600000000, 10000000),
                        (2, 100000000, 3000000),
                        (3, 20000000, 500000),
                        (4, 5000000, 100000);
                    ALTER TABLE customer ADD COLUMN credit_grade_source TEXT NOT NULL DEFAULT '';
                    """)
        }
        migrator.registerMigration("customer-5-households-groups") { db in
            try db.execute(
                sql: """
                    CREATE TABLE household (
                        household_key INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    );
                    CREATE TABLE household_member (
                        customer_key INTEGER PRIMARY KEY REFERENCES customer (key),
                        household_key INTEGER NOT NULL REFERENCES household (household_key),
                        role INTEGER NOT NULL
                    );
                    CREATE INDEX household_member_household ON household_member (household_key);
                    CREATE UNIQUE INDEX household_one_head ON household_member (household_key) WHERE role = 1;

                    -- customer_key is the subsidiary: a corporate has at most one parent.
                    CREATE TABLE corporate_link (
                        customer_key INTEGER PRIMARY KEY REFERENCES customer (key),
                        parent_key INTEGER NOT NULL REFERENCES customer (key),
                        linked_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX corporate_link_parent ON corporate_link (parent_key);
                    -- customer_key is a group's top parent.
                    CREATE TABLE group_credit_limit (
                        customer_key INTEGER PRIMARY KEY REFERENCES customer (key),
                        limit_minor INTEGER NOT NULL,
                        set_at_ms INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("customer-6-consents") { db in
            try db.execute(
                sql: """
                    CREATE TABLE consent_event (
                        event_id INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        channel INTEGER NOT NULL,
                        purpose INTEGER NOT NULL,
                        granted INTEGER NOT NULL,
                        source TEXT NOT NULL,
                        at_ms INTEGER NOT NULL,
                        recorded_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX consent_event_customer ON consent_event (customer_key, channel, purpose, at_ms, event_id);
                    """)
        }
        migrator.registerMigration("customer-7-fuzzy-names") { db in
            try db.execute(
                sql: """
                    -- NameVariants: hashes of each name's search key and its one-deletion forms.
                    CREATE TABLE customer_name_variant (
                        variant_hash INTEGER NOT NULL,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        PRIMARY KEY (variant_hash, customer_key)
                    ) WITHOUT ROWID;
                    CREATE INDEX customer_name_variant_customer ON customer_name_variant (customer_key);
                    """)
            let rows = try Row.fetchCursor(db, sql: "SELECT key, name_zh_key, name_latin_key, legal_name FROM customer")
            while let row = try rows.next() {
                try NameVariants.replace(
                    customerKey: row["key"], names: [row["name_zh_key"], row["name_latin_key"], CustomerRecords.nameKey(row["legal_name"])], db)
            }
        }
        migrator.registerMigration("customer-8-duplicate-pairs") { db in
            try db.execute(
                sql: """
                    -- Duplicate signals compare everyone born on the same day.
                    CREATE INDEX customer_birth_date ON customer (birth_date);
                    DROP INDEX customer_name_birth;
                    DROP INDEX customer_latin_birth;
                    -- Pairs the batch duplicate job found; first_key < second_key. reasons: one per line.
                    CREATE TABLE duplicate_pair (
                        pair_id INTEGER PRIMARY KEY AUTOINCREMENT,
                        first_key INTEGER NOT NULL REFERENCES customer (key),
                        second_key INTEGER NOT NULL REFERENCES customer (key),
                        score INTEGER NOT NULL,
                        reasons TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        found_at_ms INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL,
                        dismissed_reason TEXT NOT NULL DEFAULT '',
                        CHECK (first_key < second_key),
                        UNIQUE (first_key, second_key)
                    );
                    CREATE INDEX duplicate_pair_status ON duplicate_pair (status, pair_id);
                    """)
        }
        migrator.registerMigration("customer-9-import-sources") { db in
            try db.execute(
                sql: """
                    -- Which migrated record created which customer, and the SHA-256 of its row.
                    CREATE TABLE import_source (
                        source_system TEXT NOT NULL,
                        source_id TEXT NOT NULL,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        row_digest BLOB NOT NULL,
                        imported_at_ms INTEGER NOT NULL,
                        PRIMARY KEY (source_system, source_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX import_source_customer ON import_source (customer_key);
                    """)
        }
        migrator.registerMigration("customer-10-agreements-organisation") { db in
            try db.execute(
                sql: """
                    CREATE TABLE service_agreement (
                        agreement_number TEXT PRIMARY KEY,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        kind INTEGER NOT NULL,
                        signed_on TEXT NOT NULL,
                        valid_from TEXT NOT NULL,
                        valid_until TEXT NOT NULL,
                        terminated_on TEXT NOT NULL,
                        changed_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX service_agreement_customer ON service_agreement (customer_key, signed_on);

                    CREATE TABLE org_unit (
                        unit_id TEXT PRIMARY KEY,
                        kind INTEGER NOT NULL,
                        name TEXT NOT NULL,
                        parent_id TEXT REFERENCES org_unit (unit_id),
                        closed INTEGER NOT NULL,
                        changed_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX org_unit_parent ON org_unit (parent_id);
                    CREATE TABLE relationship_manager (
                        rm_id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        unit_id TEXT NOT NULL REFERENCES org_unit (unit_id),
                        departed INTEGER NOT NULL,
                        changed_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX relationship_manager_unit ON relationship_manager (unit_id);

                    -- Each customer's managers and branches over time; until_ms is NULL for the current one.
                    CREATE TABLE rm_assignment (
                        assignment_id INTEGER PRIMARY KEY AUTOINCREMENT,
                        customer_key INTEGER NOT NULL REFERENCES customer (key),
                        rm_id TEXT NOT NULL,
                        branch_id TEXT NOT NULL,
                        from_ms INTEGER NOT NULL,
                        until_ms INTEGER,
                        reason TEXT NOT NULL,
                        assigned_by TEXT NOT NULL
                    );
                    CREATE INDEX rm_assignment_customer ON rm_assignment (customer_key, assignment_id);
                    -- The placement customers had before history was kept.
                    INSERT INTO rm_assignment (customer_key, rm_id, branch_id, from_ms, reason, assigned_by)
                        SELECT key, relationship_manager_id, branch_id, updated_at_ms, 'before assignment history', 'migration'
                        FROM customer WHERE relationship_manager_id != '' OR branch_id != '';
                    """)
        }
        migrator.registerMigration("customer-11-case-summaries") { db in
            try db.execute(
                sql: """
                    -- The customer's ServiceDesk cases as their latest event showed them (the
                    -- servicedesk feed); a case re-keyed to another customer moves with its event.
                    CREATE TABLE case_summary (
                        case_id TEXT PRIMARY KEY,
                        customer_key INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        category TEXT NOT NULL,
                        status TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        opened_at_ms INTEGER NOT NULL,
                        resolved_at_ms INTEGER NOT NULL,
                        escalation_level INTEGER NOT NULL,
                        sla_breached INTEGER NOT NULL,
                        finished INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX case_summary_customer ON case_summary (customer_key, finished, updated_at_ms);
                    """)
        }
        migrator.registerMigration("customer-12-opportunity-summaries-and-sourced-interactions") { db in
            try db.execute(
                sql: """
                    -- The customer's Marketing opportunities as their latest event showed them.
                    CREATE TABLE opportunity_summary (
                        opportunity_id TEXT PRIMARY KEY,
                        customer_key INTEGER NOT NULL,
                        product TEXT NOT NULL,
                        stage TEXT NOT NULL,
                        amount_minor INTEGER NOT NULL,
                        currency TEXT NOT NULL,
                        owner_rm_id TEXT NOT NULL,
                        expected_close_date TEXT NOT NULL,
                        closed INTEGER NOT NULL,
                        updated_at_ms INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX opportunity_summary_customer ON opportunity_summary (customer_key, closed, updated_at_ms);

                    -- Contact history written from another service's event names that event
                    -- ("servicedesk:K0000000001:case.opened"), so that a replay adds nothing.
                    ALTER TABLE interaction ADD COLUMN source TEXT;
                    CREATE UNIQUE INDEX interaction_source ON interaction (source) WHERE source IS NOT NULL;
                    """)
        }
        migrator.registerMigration("customer-13-view-order-indexes") { db in
            // Indexes in the order the single customer view lists rows, so that its queries read
            // them in order instead of sorting them in a temporary B-tree (the history of docs/BENCHMARKS.md, "The
            // view's reads without sorts or re-prepared transactions"); each keeps the columns of
            // the index it replaces as its prefix.
            try db.execute(
                sql: """
                    DROP INDEX service_agreement_customer;
                    CREATE INDEX service_agreement_customer ON service_agreement (customer_key, signed_on DESC, agreement_number);
                    DROP INDEX case_summary_customer;
                    CREATE INDEX case_summary_customer ON case_summary (customer_key, finished, updated_at_ms DESC, case_id DESC);
                    DROP INDEX opportunity_summary_customer;
                    CREATE INDEX opportunity_summary_customer
                        ON opportunity_summary (customer_key, closed, updated_at_ms DESC, opportunity_id DESC);
                    DROP INDEX household_member_household;
                    CREATE INDEX household_member_household ON household_member (household_key, role);
                    """)
        }
        migrator.registerMigration("customer-14-published-versions") { db in
            // The version each customer's last change event carried, so that every event carries a
            // higher one (CustomerDirectory.publishChanges). Events already in the log carried the
            // current versions.
            try db.execute(
                sql: """
                    ALTER TABLE customer ADD COLUMN published_version INTEGER NOT NULL DEFAULT 0;
                    UPDATE customer SET published_version = version;
                    """)
        }
        migrator.registerMigration("customer-15-pinyin") { db in
            // Pinyin of Chinese names (Pinyin, ICU's Han-Latin transform for names), for prefix and
            // exact search, and in the name variants for fuzzy search.
            try db.execute(
                sql: """
                    ALTER TABLE customer ADD COLUMN name_pinyin_key TEXT NOT NULL DEFAULT '';
                    ALTER TABLE customer ADD COLUMN name_initials_key TEXT NOT NULL DEFAULT '';
                    """)
            // The keys first: the refresh writes the rows a cursor would still be reading.
            let corporate = Crm_Customer_V1_CustomerKind.corporate.rawValue
            let keys = try Int64.fetchAll(
                db, sql: "SELECT key FROM customer WHERE CASE kind WHEN ? THEN legal_name ELSE name_zh END > ''", arguments: [corporate])
            for key in keys { try CustomerRecords.refreshNameSearch(key: key, db) }
            try db.execute(
                sql: """
                    CREATE INDEX customer_name_pinyin ON customer (name_pinyin_key);
                    CREATE INDEX customer_name_initials ON customer (name_initials_key);
                    """)
        }
        migrator.registerMigration("customer-16-lifecycle-trends") { db in
            // Why a customer is at their stage (Lifecycle), and the daily highs of what they hold,
            // which the churn-risk rule compares today's with.
            try db.execute(
                sql: """
                    ALTER TABLE customer ADD COLUMN lifecycle_reason TEXT NOT NULL DEFAULT '';
                    CREATE TABLE customer_value_high (
                        customer_key INTEGER NOT NULL,
                        day TEXT NOT NULL,
                        assets_minor INTEGER NOT NULL,
                        contribution_minor INTEGER NOT NULL,
                        PRIMARY KEY (customer_key, day)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }
}
