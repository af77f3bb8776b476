import Foundation
import GRDB
import ServiceRuntime
import SwiftProtobuf
import Testing

/// The versions a change log's events carry, per entity, oldest first: for checking that every
/// entity's events carry strictly increasing versions (a consumer keeping the highest version it
/// saw must never drop one).
func feedVersions<Payload: SwiftProtobuf.Message>(
    _ store: Store, as type: Payload.Type, version: (Payload) -> Int64
) async throws -> [String: [Int64]] {
    let rows = try await store.pool.read { db in
        try Row.fetchAll(db, sql: "SELECT entity_key, payload_type, payload FROM change_log ORDER BY sequence")
            .map { (entity: $0["entity_key"] as String, type: $0["payload_type"] as String, payload: $0["payload"] as Data) }
    }
    var versions: [String: [Int64]] = [:]
    for row in rows where row.type == Payload.protoMessageName {
        versions[row.entity, default: []].append(version(try Payload(serializedBytes: row.payload)))
    }
    return versions
}

/// Records an issue for every entity whose event versions do not strictly increase.
func expectIncreasing(_ versions: [String: [Int64]], sourceLocation: SourceLocation = #_sourceLocation) {
    for (entity, list) in versions.sorted(by: { $0.key < $1.key }) {
        #expect(zip(list, list.dropFirst()).allSatisfy { $0 < $1 }, "\(entity): \(list)", sourceLocation: sourceLocation)
    }
}
