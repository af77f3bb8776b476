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
        migrator.registerMigration("customer-1-master-data", migrate: masterData)
        migrator.registerMigration("customer-2-merges", migrate: merges)
        migrator.registerMigration("customer-3-erasure", migrate: erasure)
        migrator.registerMigration("customer-4-accounts-interactions-grades", migrate: accountsInteractionsGrades)
        migrator.registerMigration("customer-5-households-groups", migrate: householdsGroups)
        migrator.registerMigration("customer-6-consents", migrate: consents)
        migrator.registerMigration("customer-7-fuzzy-names", migrate: fuzzyNames)
        migrator.registerMigration("customer-8-duplicate-pairs", migrate: duplicatePairs)
        migrator.registerMigration("customer-9-import-sources", migrate: importSources)
        migrator.registerMigration("customer-10-agreements-organisation", migrate: agreementsOrganisation)
        migrator.registerMigration("customer-11-case-summaries", migrate: caseSummaries)
        migrator.registerMigration("customer-12-opportunity-summaries-and-sourced-interactions", migrate: opportunitySummariesAndSourcedInteractions)
        migrator.registerMigration("customer-13-view-order-indexes", migrate: viewOrderIndexes)
        migrator.registerMigration("customer-14-published-versions", migrate: publishedVersions)
        migrator.registerMigration("customer-15-pinyin", migrate: pinyin)
        migrator.registerMigration("customer-16-lifecycle-trends", migrate: lifecycleTrends)
        return migrator
    }
}
