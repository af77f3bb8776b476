public import ServiceRuntime
internal import Crypto
internal import Foundation
public import GRDB
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Bulk import of customer files from the systems being migrated: each row is validated and checked
/// for duplicates like a Create, in a savepoint of its own so that a bad row rejects only itself.
/// `import_source` remembers which (source system, source id) created which customer and the
/// digest of the row, so that a file imported again changes nothing.
extension CustomerDirectory {
    public static let maxImportRows = 500

    public func importCustomers(
        _ request: Crm_Customer_V1_ImportCustomersRequest, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_ImportCustomersResponse {
        var problems = FieldViolations()
        let source = problems.code(request.sourceSystem, "sourceSystem", max: 40, required: true)
        if request.rows.isEmpty || request.rows.count > Self.maxImportRows {
            problems.add("rows", "must hold 1 to \(Self.maxImportRows) rows")
        }
        if request.rejectDuplicatesFromScore > 100 { problems.add("rejectDuplicatesFromScore", "must be 0 to 100") }
        try problems.throwIfAny()

        // A dry run makes every change inside one savepoint and rolls it back: the answers are
        // what the import would give, and nothing stays.
        var response = Crm_Customer_V1_ImportCustomersResponse()
        if request.dryRun {
            try db.inSavepoint {
                response = try importRows(request, source: source, caller: caller, db)
                return .rollback
            }
            for index in response.results.indices where response.results[index].outcome == .created {
                response.results[index].customerID = ""
            }
        } else {
            response = try importRows(request, source: source, caller: caller, db)
        }
        return response
    }

    private func importRows(
        _ request: Crm_Customer_V1_ImportCustomersRequest, source: String, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_ImportCustomersResponse {
        var response = Crm_Customer_V1_ImportCustomersResponse()
        var seen: Set<String> = []
        for row in request.rows {
            // A row without its source id, or with one an earlier row has, rejects only itself.
            var rowProblems = FieldViolations()
            let sourceID = rowProblems.text(row.sourceID, "sourceId", max: 64, required: true)
            if rowProblems.isEmpty, !seen.insert(sourceID).inserted { rowProblems.add("sourceId", "repeats an earlier row of this batch") }
            let result: Crm_Customer_V1_ImportRowResult
            if rowProblems.isEmpty {
                result = try importRow(
                    row, source: source, sourceID: sourceID, rejectFromScore: request.rejectDuplicatesFromScore, caller: caller, db)
            } else {
                var rejected = Crm_Customer_V1_ImportRowResult()
                rejected.line = row.line
                rejected.sourceID = row.sourceID
                rejected.outcome = .rejected
                rejected.reason = "INVALID_FIELD"
                rejected.problems = rowProblems.all.map { "\($0.field): \($0.description)" }
                result = rejected
            }
            switch result.outcome {
            case .created: response.created += 1
            case .unchanged: response.unchanged += 1
            default: response.rejected += 1
            }
            response.results.append(result)
        }
        return response
    }

    private func importRow(
        _ row: Crm_Customer_V1_ImportRow, source: String, sourceID: String, rejectFromScore: UInt32, caller: Caller, _ db: Database
    ) throws -> Crm_Customer_V1_ImportRowResult {
        var result = Crm_Customer_V1_ImportRowResult()
        result.line = row.line
        result.sourceID = sourceID
        let digest = Data(SHA256.hash(data: try row.profile.serializedBytes() as [UInt8]))
        if let earlier = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT customer_key, row_digest FROM import_source WHERE source_system = ? AND source_id = ?"),
            arguments: [source, sourceID])
        {
            let customerID = CustomerRecords.customerID(earlier["customer_key"])
            result.customerID = customerID
            if earlier["row_digest"] == digest {
                result.outcome = .unchanged
            } else {
                result.outcome = .rejected
                result.reason = "SOURCE_CHANGED"
                result.problems = ["profile: differs from the row imported before as \(customerID); change that customer with Customer.Update"]
            }
            return result
        }
        do {
            try db.inSavepoint {
                var create = Crm_Customer_V1_CreateCustomerRequest()
                create.profile = row.profile
                let created = try self.create(create, caller: caller, db)
                result.possibleDuplicates = created.possibleDuplicates
                if rejectFromScore > 0, created.possibleDuplicates.contains(where: { $0.score >= rejectFromScore }) {
                    result.outcome = .rejected
                    result.reason = "LIKELY_DUPLICATE"
                    result.problems = created.possibleDuplicates.filter { $0.score >= rejectFromScore }.map {
                        "profile: likely the same as \($0.customerID) (score \($0.score): \($0.reasons.joined(separator: ", ")))"
                    }
                    return .rollback
                }
                let key = CustomerRecords.key(fromID: created.customer.id)!
                try db.cachedStatement(
                    sql: "INSERT INTO import_source (source_system, source_id, customer_key, row_digest, imported_at_ms) VALUES (?, ?, ?, ?, ?)"
                ).execute(arguments: [source, sourceID, key, digest, nowMilliseconds])
                try AuditLog.append(
                    [.init(customerKey: key, action: "import", field: "source", before: "", after: "\(source)/\(sourceID)")],
                    caller: caller, atMilliseconds: nowMilliseconds, db)
                result.outcome = .created
                result.customerID = created.customer.id
                return .commit
            }
        } catch let error as RPCError where error.code == .invalidArgument || error.code == .alreadyExists {
            result.outcome = .rejected
            result.reason = error.reason
            result.problems = error.fieldViolations.isEmpty ? [error.message] : error.fieldViolations.map { "\($0.field): \($0.description)" }
        }
        return result
    }
}
