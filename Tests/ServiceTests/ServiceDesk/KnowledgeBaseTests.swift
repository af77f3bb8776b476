import Foundation
import GRDB
import ServiceDeskService
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI

/// The knowledge base against a real SQLite file: article life cycle, full-text search in Chinese and
/// English, and links from cases.
@Suite("ServiceDesk knowledge base")
struct KnowledgeBaseTests {
    typealias Desk = CaseDeskTests.Desk

    static func save(
        _ desk: Desk, id: String = "", version: Int64 = 0, title: String, body: String, category: String = "cards/fees"
    ) async throws -> Crm_Servicedesk_V1_Article {
        var request = Crm_Servicedesk_V1_SaveArticleRequest()
        (request.id, request.expectedVersion, request.title, request.body, request.category) = (id, version, title, body, category)
        let finished = request
        return try await desk.write { desk, db in try KnowledgeBase(now: desk.now).save(finished, db) }.article
    }

    static func setStatus(_ desk: Desk, _ article: Crm_Servicedesk_V1_Article, _ status: Crm_Servicedesk_V1_ArticleStatus) async throws
        -> Crm_Servicedesk_V1_Article
    {
        var request = Crm_Servicedesk_V1_SetArticleStatusRequest()
        (request.id, request.expectedVersion, request.status) = (article.id, article.version, status)
        let finished = request
        return try await desk.write { desk, db in try KnowledgeBase(now: desk.now).setStatus(finished, db) }.article
    }

    static func search(_ desk: Desk, _ query: String, category: String = "", unpublished: Bool = false) async throws -> [String] {
        var request = Crm_Servicedesk_V1_SearchArticlesRequest()
        (request.query, request.category, request.includeUnpublished) = (query, category, unpublished)
        let finished = request
        return try await desk.write { desk, db in try KnowledgeBase(now: desk.now).search(finished, db) }.articles.map(\.id)
    }

    @Test("draft -> published -> archived; other moves refused naming the allowed; edits name the version")
    func lifeCycle() async throws {
        let desk = try Desk()
        var article = try await Self.save(desk, title: "Refunding a duplicated annual fee", body: "Check the card ledger, then refund.")
        #expect(article.id == "A0000000001")
        #expect(article.status == .draft && article.version == 1)
        article = try await Self.save(desk, id: article.id, version: 1, title: article.title, body: "Check the ledger; refund within 10 days.")
        #expect(article.version == 2)
        let stale = await #expect(throws: RPCError.self) {
            _ = try await Self.save(desk, id: article.id, version: 1, title: "x", body: "y")
        }
        #expect(stale?.reason == "VERSION_MISMATCH")
        article = try await Self.setStatus(desk, article, .published)
        article = try await Self.setStatus(desk, article, .archived)
        let back = await #expect(throws: RPCError.self) { _ = try await Self.setStatus(desk, article, .published) }
        #expect(back?.reason == "INVALID_TRANSITION")
        #expect(back?.details["allowed"] == "")
        let edit = await #expect(throws: RPCError.self) {
            _ = try await Self.save(desk, id: article.id, version: article.version, title: "x", body: "y")
        }
        #expect(edit?.reason == "ARTICLE_ARCHIVED")
        let invalid = await #expect(throws: RPCError.self) { _ = try await Self.save(desk, title: "", body: "", category: "Cards//Fees") }
        #expect(invalid?.fieldViolations.map(\.field) == ["title", "body", "category"])
        #expect(try await desk.events("article.saved") == 2)
        #expect(try await desk.events("article.published") == 1)
        #expect(try await desk.events("article.archived") == 1)
    }

    @Test("search finds Chinese by one character or any run of characters, English by word in any case; published only unless asked")
    func search() async throws {
        let desk = try Desk()
        let fee = try await Self.save(desk, title: "信用卡年费退还流程", body: "客户的信用卡年费被重复收取时，核对账单后在十个工作日内退还。Refund the duplicated fee.")
        let mortgage = try await Self.save(
            desk, title: "房贷提前还款", body: "提前还款需要提前三十天申请，违约金按合同计算。Early repayment of a mortgage.", category: "loans/mortgage")
        #expect(try await Self.search(desk, "年费").isEmpty)  // drafts are not shown to agents
        #expect(try await Self.search(desk, "年费", unpublished: true) == [fee.id])
        _ = try await Self.setStatus(desk, fee, .published)
        _ = try await Self.setStatus(desk, mortgage, .published)

        #expect(try await Self.search(desk, "年费") == [fee.id])
        #expect(try await Self.search(desk, "信用卡年费") == [fee.id])
        #expect(try await Self.search(desk, "卡") == [fee.id])
        #expect(try await Self.search(desk, "还款") == [mortgage.id])
        #expect(try await Self.search(desk, "提前 违约金") == [mortgage.id])
        #expect(try await Self.search(desk, "退还").count == 1)
        #expect(try await Self.search(desk, "外汇").isEmpty)
        #expect(try await Self.search(desk, "REFUND") == [fee.id])
        #expect(try await Self.search(desk, "mortgage repayment") == [mortgage.id])
        // One character both titles hold finds both.
        #expect(Set(try await Self.search(desk, "还")) == [mortgage.id, fee.id])
        #expect(try await Self.search(desk, "款", category: "cards").isEmpty)
        #expect(try await Self.search(desk, "款", category: "loans") == [mortgage.id])
        // FTS5 syntax in a query is plain text.
        #expect(try await Self.search(desk, "NEAR(\"年费\" OR title:x*)").isEmpty)
        let nothing = await #expect(throws: RPCError.self) { _ = try await Self.search(desk, "?!…") }
        #expect(nothing?.fieldViolations.map(\.field) == ["query"])
    }

    @Test("a case links the published articles used on it, once each; a draft cannot be linked")
    func caseLinks() async throws {
        let desk = try Desk()
        let found = try await desk.open()
        let draft = try await Self.save(desk, title: "年费", body: "年费说明")
        func link(_ article: Crm_Servicedesk_V1_Article) async throws -> Crm_Servicedesk_V1_Case {
            var request = Crm_Servicedesk_V1_LinkArticleRequest()
            (request.caseID, request.articleID) = (found.id, article.id)
            let finished = request
            return try await desk.write { desk, db in try desk.linkArticle(finished, actor: "crm-ops/agent-9", db) }.case
        }
        let refused = await #expect(throws: RPCError.self) { _ = try await link(draft) }
        #expect(refused?.reason == "ARTICLE_NOT_PUBLISHED")
        let published = try await Self.setStatus(desk, draft, .published)
        let linked = try await link(published)
        #expect(linked.articleIds == [published.id])
        #expect(linked.version == found.version + 1)
        #expect(try await link(published).version == linked.version)
        #expect(try await desk.events("case.article_linked") == 1)
        let article = try await desk.write { desk, db in
            var request = Crm_Servicedesk_V1_GetArticleRequest()
            request.id = published.id
            return try KnowledgeBase(now: desk.now).get(request, db).article
        }
        #expect(article.caseLinks == 1)
    }
}
