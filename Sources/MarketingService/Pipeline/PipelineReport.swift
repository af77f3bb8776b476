public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// Marketing.PipelineReport: amounts and weighted amounts by stage, RM or branch, per currency.
extension Pipeline {
    public func report(_ request: Crm_Marketing_V1_PipelineReportRequest, _ db: Database) throws -> Crm_Marketing_V1_PipelineReportResponse {
        var violations = FieldViolations()
        let column: String? =
            switch request.groupBy {
            case .stage: "stage"
            case .ownerRm: "owner_rm_id"
            case .branch: "branch_id"
            case .unspecified, .UNRECOGNIZED: nil
            }
        if column == nil { violations.add("groupBy", "is required (STAGE, OWNER_RM or BRANCH)") }
        if request.closedFrom.milliseconds < 0 { violations.add("closedFrom", "must not be negative") }
        try violations.throwIfAny()
        guard let column else { return .init() }

        let probabilities = try Self.probabilities(db)
        var rows: [String: Crm_Marketing_V1_PipelineRow] = [:]
        let cursor = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT \(column), currency, stage, amount_minor FROM opportunity
                    WHERE closed_at_ms IS NULL OR (? > 0 AND closed_at_ms >= ?)
                    """),
            arguments: [request.closedFrom.milliseconds, request.closedFrom.milliseconds])
        while let row = try cursor.next() {
            let stage = OpportunityStage(rawValue: row[2]) ?? .lead
            let key = request.groupBy == .stage ? stage.name : row[0] as String
            let currency: String = row[1]
            let amount: Int64 = row[3]
            var entry = rows[key + "\u{0}" + currency] ?? Crm_Marketing_V1_PipelineRow()
            (entry.key, entry.currency) = (key, currency)
            entry.opportunities += 1
            entry.amountMinor += amount
            entry.weightedAmountMinor += OpportunityStage.weighted(amount, percent: probabilities[stage] ?? 0)
            rows[key + "\u{0}" + currency] = entry
        }
        var response = Crm_Marketing_V1_PipelineReportResponse()
        let stageOrder = Dictionary(uniqueKeysWithValues: OpportunityStage.allCases.map { ($0.name, $0.rawValue) })
        response.rows = rows.values.sorted { left, right in
            let leftOrder = request.groupBy == .stage ? stageOrder[left.key] ?? 0 : 0
            let rightOrder = request.groupBy == .stage ? stageOrder[right.key] ?? 0 : 0
            return (leftOrder, left.key, left.currency) < (rightOrder, right.key, right.currency)
        }
        return response
    }
}
