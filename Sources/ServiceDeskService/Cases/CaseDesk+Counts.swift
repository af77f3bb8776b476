public import CRMAPI
internal import GRDB
public import ServiceRuntime

extension ServiceDeskHandlers {
    /// ServiceDesk.CountOpenCases: the open cases of one queue, from the queue index.
    public func countOpenCases(
        _ request: Crm_Servicedesk_V1_CountOpenCasesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_CountOpenCasesResponse {
        var response = Crm_Servicedesk_V1_CountOpenCasesResponse()
        response.openCases = try UInt64(
            Int.fetchOne(transaction.db, sql: "SELECT COUNT(*) FROM service_case WHERE queue = ? AND finished = 0", arguments: [request.queue]) ?? 0)
        return response
    }
}
