public import GRDB

/// MarketingService's schema. Migrations never change once shipped; a change is a new migration.
/// Keys are `INTEGER PRIMARY KEY AUTOINCREMENT` so that a deleted row's key is never reused.
public enum MarketingSchema {
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("marketing-1-mirrors-and-opportunities", migrate: mirrorsAndOpportunities)
        return migrator
    }
}
