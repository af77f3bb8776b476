public import GRDB


/// ServiceDeskService's schema. Migrations never change once shipped; a change is a new migration.
/// Keys are `INTEGER PRIMARY KEY AUTOINCREMENT` so that a deleted row's key is never reused.
public enum ServiceDeskSchema {
    public static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("servicedesk-1-cases-and-sla", migrate: casesAndSla)
        migrator.registerMigration("servicedesk-2-customer-mirror", migrate: customerMirror)
        migrator.registerMigration("servicedesk-3-resolution-queues-knowledge-calendars", migrate: resolutionQueuesKnowledgeCalendars)
        migrator.registerMigration("servicedesk-4-category-tree", migrate: categoryTree)
        return migrator
    }
}
