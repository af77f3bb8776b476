internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-3-erasure`.
    static func erasure(_ db: Database) throws {
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
}
