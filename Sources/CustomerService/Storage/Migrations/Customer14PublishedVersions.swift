internal import GRDB
internal import WireProtocol
internal import CRMAPI

extension CustomerSchema {
    /// Migration `customer-14-published-versions`.
    static func publishedVersions(_ db: Database) throws {
        // The version each customer's last change event carried, so that every event carries a
        // higher one (CustomerDirectory.publishChanges). Events already in the log carried the
        // current versions.
        try db.execute(
            sql: """
                ALTER TABLE customer ADD COLUMN published_version INTEGER NOT NULL DEFAULT 0;
                UPDATE customer SET published_version = version;
                """)
    }
}
