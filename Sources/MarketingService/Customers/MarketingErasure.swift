internal import GRDB
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI

/// What Marketing erases when its customer is erased at CustomerService (MarketingMirror calls it
/// inside the transaction that applies the `customer.erased` event). Opportunities and tasks keep
/// their facts (product, amounts, stages, dates, owners) for the pipeline and performance reports
/// and lose every free text; the customer's tags go. Each changed opportunity and task gets a
/// higher version and a `.redacted` event, and their past events carry the blanked state.
extension MarketingMirror {
    func eraseCustomer(_ customerID: String, _ db: Database) throws -> Erasure {
        var erasure = Erasure(customerID: customerID)
        let opportunities = try Int64.fetchAll(db, sql: "SELECT key FROM opportunity WHERE customer_id = ? ORDER BY key", arguments: [customerID])
        let tasks = try Int64.fetchAll(db, sql: "SELECT key FROM rm_task WHERE customer_id = ? ORDER BY key", arguments: [customerID])
        try erasure.blank("opportunity", ["lost_reason"], where: "customer_id = ?", [customerID], db)
        try erasure.blank(
            "opportunity_stage", ["reason"], where: "opportunity_key IN (SELECT key FROM opportunity WHERE customer_id = ?)", [customerID], db)
        try erasure.blank("rm_task", ["title", "outcome", "reason"], where: "customer_id = ?", [customerID], db)
        try erasure.delete(from: "customer_tag", where: "customer_id = ?", [customerID], db)

        let probabilities = try Pipeline.probabilities(db)
        for key in opportunities {
            try db.execute(sql: "UPDATE opportunity SET version = version + 1, updated_at_ms = ? WHERE key = ?", arguments: [pipeline.nowMilliseconds, key])
            var payload = Crm_Marketing_V1_OpportunityChanged()
            payload.opportunity = try pipeline.load(key, probabilities: probabilities, db)
            try erasure.redactPastEvents(of: payload.opportunity.id, to: payload, db)
            try pipeline.publish("opportunity.redacted", payload.opportunity, db)
        }
        let book = TaskBook(pipeline: pipeline)
        for key in tasks {
            try db.execute(sql: "UPDATE rm_task SET version = version + 1 WHERE key = ?", arguments: [key])
            var payload = Crm_Marketing_V1_TaskChanged()
            payload.task = try book.load(key, db)
            try erasure.redactPastEvents(of: payload.task.id, to: payload, db)
            try book.publish("task.redacted", payload.task, db)
        }
        var noTags = Crm_Marketing_V1_CustomerTagsChanged()
        noTags.customerID = customerID
        try erasure.redactPastEvents(of: customerID, to: noTags, db)
        try erasure.eraseRuntimeCopies(
            entityKeys: [customerID] + opportunities.map(Pipeline.opportunityIDs.id) + tasks.map(TaskBook.taskIDs.id),
            nowMilliseconds: pipeline.nowMilliseconds, db)
        return erasure
    }
}
