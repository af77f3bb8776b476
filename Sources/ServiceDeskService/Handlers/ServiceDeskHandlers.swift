internal import GRDB
public import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI
public import RPCTransport

/// ServiceDeskService's handlers: each forwards to the rule in ``CaseDesk`` or ``KnowledgeBase``;
/// the generated `register(into:)` of ``ServiceDeskServiceHandler`` opens the transaction each
/// rpc's access kind names.
public struct ServiceDeskHandlers: ServiceDeskServiceHandler {
    let store: Store
    let desk: CaseDesk
    let knowledge: KnowledgeBase

    /// Registers ServiceDeskService's methods and its change feed (case and SLA events).
    public static func register(into router: inout RPCRouter, store: Store, desk: CaseDesk = CaseDesk()) {
        FeedHandlers.register(into: &router, store: store)
        var binder = StoreBinder(router: router, store: store)
        ServiceDeskHandlers(store: store, desk: desk, knowledge: KnowledgeBase(now: desk.now)).register(into: &binder)
        router = binder.router
    }

    // MARK: Cases

    public func openCase(_ request: Crm_Servicedesk_V1_OpenCaseRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_OpenCaseResponse {
        try desk.open(request, actor: transaction.caller.actor, transaction.db)
    }

    public func getCase(_ request: Crm_Servicedesk_V1_GetCaseRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_GetCaseResponse {
        try desk.get(request, transaction.db)
    }

    public func transitionCase(
        _ request: Crm_Servicedesk_V1_TransitionCaseRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_TransitionCaseResponse {
        try desk.transition(request, actor: transaction.caller.actor, transaction.db)
    }

    public func listCases(_ request: Crm_Servicedesk_V1_ListCasesRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_ListCasesResponse {
        try desk.list(request, transaction.db)
    }

    public func recordSatisfaction(
        _ request: Crm_Servicedesk_V1_RecordSatisfactionRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_RecordSatisfactionResponse {
        try desk.recordSatisfaction(request, transaction.db)
    }

    public func caseReport(_ request: Crm_Servicedesk_V1_CaseReportRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_CaseReportResponse {
        try CaseReport.run(request, transaction.db)
    }

    public func setQueue(_ request: Crm_Servicedesk_V1_SetQueueRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_SetQueueResponse {
        try desk.setQueue(request, transaction.db)
    }

    public func linkArticle(_ request: Crm_Servicedesk_V1_LinkArticleRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_LinkArticleResponse {
        try desk.linkArticle(request, actor: transaction.caller.actor, transaction.db)
    }

    // MARK: SLA

    public func setSlaPolicies(
        _ request: Crm_Servicedesk_V1_SetSlaPoliciesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_SetSlaPoliciesResponse {
        try desk.setPolicies(request, actor: transaction.caller.actor, transaction.db)
    }

    public func getSlaPolicies(
        _ request: Crm_Servicedesk_V1_GetSlaPoliciesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_GetSlaPoliciesResponse {
        try desk.getPolicies(request, transaction.db)
    }

    public func setBusinessCalendar(
        _ request: Crm_Servicedesk_V1_SetBusinessCalendarRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_SetBusinessCalendarResponse {
        try desk.setCalendar(request, transaction.db)
    }

    /// Batch by batch, each in its own transaction (``SLASweeper``).
    public func sweepSla(_ request: Crm_Servicedesk_V1_SweepSlaRequest, _ call: ServerCallContext) async throws -> Crm_Servicedesk_V1_SweepSlaResponse {
        let result = try await SLASweeper.sweepAll(store: store, desk: desk)
        var response = Crm_Servicedesk_V1_SweepSlaResponse()
        response.clocksChecked = UInt32(result.checked)
        response.warnings = UInt32(result.warnings)
        response.breaches = UInt32(result.breaches)
        return response
    }

    public func setCategories(
        _ request: Crm_Servicedesk_V1_SetCategoriesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_SetCategoriesResponse {
        try desk.setCategories(request, actor: transaction.caller.actor, transaction.db)
    }

    public func listCategories(
        _ request: Crm_Servicedesk_V1_ListCategoriesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_ListCategoriesResponse {
        try desk.listCategories(request, transaction.db)
    }

    // MARK: Knowledge base

    public func saveArticle(_ request: Crm_Servicedesk_V1_SaveArticleRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_SaveArticleResponse {
        try knowledge.save(request, transaction.db)
    }

    public func setArticleStatus(
        _ request: Crm_Servicedesk_V1_SetArticleStatusRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_SetArticleStatusResponse {
        try knowledge.setStatus(request, transaction.db)
    }

    public func searchArticles(
        _ request: Crm_Servicedesk_V1_SearchArticlesRequest, _ transaction: StoreTransaction
    ) throws -> Crm_Servicedesk_V1_SearchArticlesResponse {
        try knowledge.search(request, transaction.db)
    }

    public func getArticle(_ request: Crm_Servicedesk_V1_GetArticleRequest, _ transaction: StoreTransaction) throws -> Crm_Servicedesk_V1_GetArticleResponse {
        try knowledge.get(request, transaction.db)
    }
}
