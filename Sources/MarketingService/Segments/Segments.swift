internal import Foundation
public import GRDB
internal import ServiceRuntime
internal import SwiftProtobuf
public import WireProtocol
public import CRMAPI

/// Saved segments and their evaluation over the customer mirror (``SegmentQuery``).
public struct Segments: Sendable {
    public let pipeline: Pipeline

    public init(pipeline: Pipeline) {
        self.pipeline = pipeline
    }

    static let segmentIDs = PrefixedID(prefix: "S", table: "segment", noun: "segment", notFoundReason: .segmentNotFound)

    public func save(_ request: Crm_Marketing_V1_SaveSegmentRequest, _ db: Database) throws -> Crm_Marketing_V1_SaveSegmentResponse {
        var violations = FieldViolations()
        let name = violations.text(request.name, "name", max: 100, required: true)
        try violations.throwIfAny()
        _ = try SegmentQuery.compile(request.filter, today: pipeline.today)
        let filter = Data(try request.filter.serializedBytes() as [UInt8])
        let at = pipeline.nowMilliseconds
        let key: Int64
        if request.id.isEmpty {
            try db.cachedStatement(sql: "INSERT INTO segment (name, filter, version, updated_at_ms) VALUES (?, ?, 1, ?)").execute(
                arguments: [name, filter, at])
            key = db.lastInsertedRowID
        } else {
            key = try Self.segmentIDs.key(request.id, db)
            let version = try Int64.fetchOne(db.cachedStatement(sql: "SELECT version FROM segment WHERE key = ?"), arguments: [key]) ?? 0
            try Self.segmentIDs.checkVersion(request.id, current: version, expected: request.expectedVersion)
            try db.cachedStatement(sql: "UPDATE segment SET name = ?, filter = ?, version = version + 1, updated_at_ms = ? WHERE key = ?").execute(
                arguments: [name, filter, at, key])
        }
        var response = Crm_Marketing_V1_SaveSegmentResponse()
        response.segment = try load(key, db)
        var payload = Crm_Marketing_V1_SegmentChanged()
        payload.segment = response.segment
        try ChangeLog.append(type: "segment.saved", entityKey: response.segment.id, payload: payload, atMilliseconds: at, db)
        return response
    }

    public func count(_ request: Crm_Marketing_V1_CountSegmentRequest, _ db: Database) throws -> Crm_Marketing_V1_CountSegmentResponse {
        let query = try self.query(segmentID: request.segmentID, filter: Self.filter(request.target), db)
        var response = Crm_Marketing_V1_CountSegmentResponse()
        response.customers = try UInt64.fetchOne(
            db, sql: "SELECT count(*) FROM customer_mirror m WHERE \(query.condition)", arguments: StatementArguments(query.arguments)) ?? 0
        response.today = pipeline.today.description
        return response
    }

    public func members(_ request: Crm_Marketing_V1_ListSegmentMembersRequest, _ db: Database) throws -> Crm_Marketing_V1_ListSegmentMembersResponse {
        var violations = FieldViolations()
        let size = violations.pageSize(request.pageSize, max: 10_000, defaultSize: 1_000)
        let after = request.pageToken.isEmpty ? "" : String(decoding: Data(base64Encoded: request.pageToken) ?? Data(), as: UTF8.self)
        if !request.pageToken.isEmpty && CustomerIDs.key(after) == nil { violations.add("pageToken", "is not a token this service issued") }
        try violations.throwIfAny()
        let query = try self.query(segmentID: request.segmentID, filter: Self.filter(request.target), db)
        let ids = try String.fetchAll(
            db, sql: "SELECT m.customer_id FROM customer_mirror m WHERE \(query.condition) AND m.customer_id > ? ORDER BY m.customer_id LIMIT ?",
            arguments: StatementArguments(query.arguments + [after, String(size + 1)]))
        var response = Crm_Marketing_V1_ListSegmentMembersResponse()
        response.customerIds = Array(ids.prefix(size))
        if ids.count > size { response.nextPageToken = Data(ids[size - 1].utf8).base64EncodedString() }
        return response
    }

    static func filter(_ target: Crm_Marketing_V1_CountSegmentRequest.OneOf_Target?) -> Crm_Marketing_V1_SegmentFilter? {
        if case .filter(let filter) = target { return filter }
        return nil
    }

    static func filter(_ target: Crm_Marketing_V1_ListSegmentMembersRequest.OneOf_Target?) -> Crm_Marketing_V1_SegmentFilter? {
        if case .filter(let filter) = target { return filter }
        return nil
    }

    public func setTags(_ request: Crm_Marketing_V1_SetCustomerTagsRequest, _ db: Database) throws -> Crm_Marketing_V1_SetCustomerTagsResponse {
        var violations = FieldViolations()
        let customerID = violations.code(request.customerID, "customerId", max: 20, required: true)
        if request.tags.count > 20 { violations.add("tags", "must hold at most 20") }
        let tags = Set(request.tags.enumerated().map { index, tag in violations.code(tag, "tags[\(index)]", max: 40, required: true) }).sorted()
        try violations.throwIfAny()
        _ = try MarketingMirror.usableCustomer(customerID, thing: "tags", db)
        try db.cachedStatement(sql: "DELETE FROM customer_tag WHERE customer_id = ?").execute(arguments: [customerID])
        for tag in tags {
            try db.cachedStatement(sql: "INSERT INTO customer_tag (customer_id, tag) VALUES (?, ?)").execute(arguments: [customerID, tag])
        }
        var payload = Crm_Marketing_V1_CustomerTagsChanged()
        (payload.customerID, payload.tags) = (customerID, tags)
        try ChangeLog.append(type: "tags.changed", entityKey: customerID, payload: payload, atMilliseconds: pipeline.nowMilliseconds, db)
        var response = Crm_Marketing_V1_SetCustomerTagsResponse()
        response.tags = tags
        return response
    }

    private func query(segmentID: String, filter: Crm_Marketing_V1_SegmentFilter?, _ db: Database) throws -> SegmentQuery {
        if let filter { return try SegmentQuery.compile(filter, today: pipeline.today) }
        let key = try Self.segmentIDs.key(segmentID, db)
        let stored = try Data.fetchOne(db.cachedStatement(sql: "SELECT filter FROM segment WHERE key = ?"), arguments: [key]) ?? Data()
        return try SegmentQuery.compile(try Crm_Marketing_V1_SegmentFilter(serializedBytes: [UInt8](stored)), today: pipeline.today)
    }

    func load(_ key: Int64, _ db: Database) throws -> Crm_Marketing_V1_Segment {
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, filter, version, updated_at_ms FROM segment WHERE key = ?"), arguments: [key])!
        var segment = Crm_Marketing_V1_Segment()
        segment.id = Self.segmentIDs.id(key)
        segment.name = row[0]
        segment.filter = try Crm_Marketing_V1_SegmentFilter(serializedBytes: [UInt8](row[1] as Data))
        (segment.version, segment.updatedAt.milliseconds) = (row[2], row[3])
        return segment
    }
}

/// Customer ids as CustomerService shapes them ("C" and 10 digits), for page tokens.
enum CustomerIDs {
    static func key(_ id: String) -> Int64? {
        guard id.count == 11, id.first == "C", let key = Int64(id.dropFirst()), key > 0 else { return nil }
        return key
    }
}
