public import Foundation
public import GRDB
internal import ServiceRuntime
public import WireProtocol
public import CRMAPI

/// The knowledge base: articles agents use to answer cases, draft -> published -> archived, searched
/// with FTS5 (``SearchText``). Every function runs inside the caller's transaction; the search index
/// and the change event commit with the article.
public struct KnowledgeBase: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    enum Status: String {
        case draft, published, archived

        var proto: Crm_Servicedesk_V1_ArticleStatus {
            switch self {
            case .draft: .draft
            case .published: .published
            case .archived: .archived
            }
        }

        /// Where each status may go.
        var next: [Status] {
            switch self {
            case .draft: [.published, .archived]
            case .published: [.archived]
            case .archived: []
            }
        }
    }

    static let articleIDs = PrefixedID(prefix: "A", table: "kb_article", noun: "article", notFoundReason: .articleNotFound)

    static func articleID(_ key: Int64) -> String { articleIDs.id(key) }

    func articleKey(_ id: String, _ db: Database) throws -> Int64 { try Self.articleIDs.key(id, db) }

    public func save(_ request: Crm_Servicedesk_V1_SaveArticleRequest, _ db: Database) throws -> Crm_Servicedesk_V1_SaveArticleResponse {
        var violations = FieldViolations()
        let title = violations.text(request.title, "title", max: 200, required: true)
        let body = request.body.trimmingWhitespace()
        if body.isEmpty { violations.add("body", "is required") } else if body.unicodeScalars.count > 50_000 {
            violations.add("body", "must be at most 50000 characters")
        }
        let category = violations.categoryPath(request.category, "category")
        try violations.throwIfAny()
        let at = now().milliseconds
        let key: Int64
        if request.id.isEmpty {
            try db.cachedStatement(sql: """
                    INSERT INTO kb_article (title, body, category, status, version, created_at_ms, updated_at_ms)
                    VALUES (?, ?, ?, 'draft', 1, ?, ?)
                    """).execute(arguments: [title, body, category, at, at])
            key = db.lastInsertedRowID
        } else {
            key = try articleKey(request.id, db)
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, version FROM kb_article WHERE key = ?"), arguments: [key])!
            try Self.articleIDs.checkVersion(request.id, current: row["version"], expected: request.expectedVersion)
            if Status(rawValue: row["status"]) == .archived {
                throw RPCError(code: .failedPrecondition, message: "article \(request.id) is archived", reason: .articleArchived, processing: .notProcessed)
            }
            try db.cachedStatement(sql: "UPDATE kb_article SET title = ?, body = ?, category = ?, version = version + 1, updated_at_ms = ? WHERE key = ?").execute(arguments: [title, body, category, at, key])
            try db.cachedStatement(sql: "DELETE FROM kb_search WHERE rowid = ?").execute(arguments: [key])
        }
        try db.cachedStatement(sql: "INSERT INTO kb_search (rowid, title, body) VALUES (?, ?, ?)").execute(arguments: [key, SearchText.indexed(title), SearchText.indexed(body)])
        var response = Crm_Servicedesk_V1_SaveArticleResponse()
        response.article = try load(key, db)
        try publish("article.saved", response.article, db)
        return response
    }

    public func setStatus(
        _ request: Crm_Servicedesk_V1_SetArticleStatusRequest, _ db: Database
    ) throws -> Crm_Servicedesk_V1_SetArticleStatusResponse {
        let target: Status? =
            switch request.status {
            case .published: .published
            case .archived: .archived
            case .draft: .draft
            case .unspecified, .UNRECOGNIZED: nil
            }
        var violations = FieldViolations()
        if target == nil { violations.add("status", "is required (PUBLISHED or ARCHIVED)") }
        try violations.throwIfAny()
        guard let target else { return .init() }
        let key = try articleKey(request.id, db)
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, version FROM kb_article WHERE key = ?"), arguments: [key])!
        try Self.articleIDs.checkVersion(request.id, current: row["version"], expected: request.expectedVersion)
        let current = Status(rawValue: row["status"]) ?? .draft
        guard current.next.contains(target) else {
            throw RPCError(
                code: .failedPrecondition,
                message: "an article that is \(current.rawValue) cannot become \(target.rawValue); allowed: "
                    + (current.next.isEmpty ? "nothing (final)" : current.next.map(\.rawValue).joined(separator: ", ")),
                reason: .invalidTransition, processing: .notProcessed,
                details: ["status": current.rawValue, "allowed": current.next.map(\.rawValue).joined(separator: ",")])
        }
        try db.cachedStatement(sql: "UPDATE kb_article SET status = ?, version = version + 1, updated_at_ms = ? WHERE key = ?").execute(arguments: [target.rawValue, now().milliseconds, key])
        var response = Crm_Servicedesk_V1_SetArticleStatusResponse()
        response.article = try load(key, db)
        try publish("article.\(target.rawValue)", response.article, db)
        return response
    }

    public func get(_ request: Crm_Servicedesk_V1_GetArticleRequest, _ db: Database) throws -> Crm_Servicedesk_V1_GetArticleResponse {
        var response = Crm_Servicedesk_V1_GetArticleResponse()
        response.article = try load(try articleKey(request.id, db), db)
        return response
    }

    public func search(_ request: Crm_Servicedesk_V1_SearchArticlesRequest, _ db: Database) throws -> Crm_Servicedesk_V1_SearchArticlesResponse {
        var violations = FieldViolations()
        let query = violations.text(request.query, "query", max: 200, required: true)
        let category = violations.categoryPath(request.category, "category", required: false)
        if request.limit > 100 { violations.add("limit", "must be at most 100") }
        let expression = SearchText.matchExpression(query)
        if !query.isEmpty, expression == nil { violations.add("query", "has no letters, digits or CJK characters to search for") }
        try violations.throwIfAny()
        guard let expression else { return .init() }
        let keys = try Int64.fetchAll(db.cachedStatement(sql: """
                SELECT a.key FROM kb_search JOIN kb_article a ON a.key = kb_search.rowid
                WHERE kb_search MATCH ? AND (? OR a.status = 'published')
                    AND (? = '' OR a.category = ? OR substr(a.category, 1, length(?) + 1) = ? || '/')
                ORDER BY bm25(kb_search, 5.0, 1.0), a.key LIMIT ?
                """),
            arguments: [expression, request.includeUnpublished, category, category, category, category, request.limit == 0 ? 20 : Int(request.limit)])
        var response = Crm_Servicedesk_V1_SearchArticlesResponse()
        response.articles = try keys.map { try load($0, db) }
        return response
    }

    func load(_ key: Int64, _ db: Database) throws -> Crm_Servicedesk_V1_Article {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM kb_article WHERE key = ?"), arguments: [key]) else {
            throw Self.articleIDs.notFound(Self.articleID(key))
        }
        var article = Crm_Servicedesk_V1_Article()
        article.id = Self.articleID(key)
        article.title = row["title"]
        article.body = row["body"]
        article.category = row["category"]
        article.status = (Status(rawValue: row["status"]) ?? .draft).proto
        article.version = row["version"]
        article.updatedAt.milliseconds = row["updated_at_ms"]
        article.caseLinks = UInt32(try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM case_article WHERE article_key = ?"), arguments: [key]) ?? 0)
        return article
    }

    private func publish(_ type: String, _ article: Crm_Servicedesk_V1_Article, _ db: Database) throws {
        var payload = Crm_Servicedesk_V1_ArticleChanged()
        payload.article = article
        try ChangeLog.append(type: type, entityKey: article.id, payload: payload, atMilliseconds: now().milliseconds, db)
    }
}

extension CaseDesk {
    /// Records that a published article was used on a case; linking again changes nothing.
    public func linkArticle(
        _ request: Crm_Servicedesk_V1_LinkArticleRequest, actor: String, _ db: Database
    ) throws -> Crm_Servicedesk_V1_LinkArticleResponse {
        let key = try caseKey(request.caseID, db)
        let knowledge = KnowledgeBase(now: now)
        let articleKey = try knowledge.articleKey(request.articleID, db)
        let status = try String.fetchOne(db.cachedStatement(sql: "SELECT status FROM kb_article WHERE key = ?"), arguments: [articleKey])
        guard status == KnowledgeBase.Status.published.rawValue else {
            throw RPCError(
                code: .failedPrecondition, message: "article \(request.articleID) is \(status ?? "unknown"); only published articles are linked",
                reason: .articleNotPublished, processing: .notProcessed)
        }
        let at = now()
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO case_article (case_key, article_key, linked_at_ms, actor) VALUES (?, ?, ?, ?)").execute(arguments: [key, articleKey, at.milliseconds, actor])
        let linked = db.changesCount > 0
        if linked { try db.cachedStatement(sql: "UPDATE service_case SET version = version + 1 WHERE key = ?").execute(arguments: [key]) }
        var response = Crm_Servicedesk_V1_LinkArticleResponse()
        response.case = try loadCase(key: key, calendars: CalendarBook(), db)
        if linked { try publish("case.article_linked", response.case, event: nil, metric: nil, db) }
        return response
    }
}
