internal import Foundation
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

/// Field-by-field differences between two versions of a message, keyed by protobuf JSON path
/// (`individual.nameZh`, `documents[0].number`), for the audit log.
enum ProfileDiff {
    struct Change: Equatable {
        var field: String
        var before: String
        var after: String
    }

    static func changes<M: SwiftProtobuf.Message>(from old: M, to new: M) -> [Change] {
        let before = flatten(old)
        let after = flatten(new)
        return Set(before.keys).union(after.keys).sorted().compactMap { field in
            let was = before[field] ?? ""
            let now = after[field] ?? ""
            return was == now ? nil : Change(field: field, before: was, after: now)
        }
    }

    /// ``changes(from:to:)`` for a customer profile, walking only the parts that differ: equal
    /// parts, cleared on both sides first, could add no change, and most updates touch one or two
    /// fields of a profile whose JSON round trip is most of the diff's cost. The four top-level
    /// scalars are compared directly (their JSON value is the string itself or the enum's name), so
    /// an update of those alone (a channel, a branch, a relationship manager) needs no JSON at all:
    /// the round trip was 5% of crm-customer's CPU in an update (the history of docs/BENCHMARKS.md, "The update's
    /// audit diff without JSON").
    static func profileChanges(from old: Crm_Customer_V1_CustomerProfile, to new: Crm_Customer_V1_CustomerProfile) -> [Change] {
        // A value outside the enum (the validator refuses those) has no name to look up: the JSON path.
        guard let oldKind = kindNames[old.kind.rawValue], let newKind = kindNames[new.kind.rawValue],
            let oldChannel = channelNames[old.preferredChannel.rawValue], let newChannel = channelNames[new.preferredChannel.rawValue]
        else { return changes(from: old, to: new) }
        var found: [Change] = []
        for (field, was, now) in [
            ("kind", oldKind, newKind), ("preferredChannel", oldChannel, newChannel),
            ("relationshipManagerId", old.relationshipManagerID, new.relationshipManagerID), ("branchId", old.branchID, new.branchID),
        ] where was != now {
            found.append(Change(field: field, before: was, after: now))
        }
        var (old, new) = (old, new)
        (old.kind, old.preferredChannel, old.relationshipManagerID, old.branchID) = (.unspecified, .unspecified, "", "")
        (new.kind, new.preferredChannel, new.relationshipManagerID, new.branchID) = (.unspecified, .unspecified, "", "")
        if old.individual == new.individual { old.clearIndividual(); new.clearIndividual() }
        if old.corporate == new.corporate { old.clearCorporate(); new.clearCorporate() }
        if old.documents == new.documents { old.documents = []; new.documents = [] }
        if old.contacts == new.contacts { old.contacts = []; new.contacts = [] }
        if old != new { found += changes(from: old, to: new) }
        return found.sorted { $0.field < $1.field }
    }

    /// Each known value's JSON text ("" for the default, which JSON leaves out), taken once from
    /// the protobuf JSON mapping itself so that it cannot drift from ``flatten(_:)``.
    private static let kindNames = jsonValues(field: "kind", Crm_Customer_V1_CustomerKind.allCases) { $0.kind = $1 }
    private static let channelNames = jsonValues(field: "preferredChannel", Crm_Customer_V1_Channel.allCases) { $0.preferredChannel = $1 }

    private static func jsonValues<E: SwiftProtobuf.Enum>(
        field: String, _ values: [E], _ set: (inout Crm_Customer_V1_CustomerProfile, E) -> Void
    ) -> [Int: String] {
        Dictionary(uniqueKeysWithValues: values.map { value in
            var profile = Crm_Customer_V1_CustomerProfile()
            set(&profile, value)
            return (value.rawValue, flatten(profile)[field] ?? "")
        })
    }

    /// The message's set fields as path -> value, using the protobuf JSON mapping.
    static func flatten<M: SwiftProtobuf.Message>(_ message: M) -> [String: String] {
        guard let data = try? message.jsonUTF8Data(),
            let object = try? JSONSerialization.jsonObject(with: data)
        else { return [:] }
        var result: [String: String] = [:]
        func walk(_ value: Any, _ path: String) {
            switch value {
            case let dictionary as [String: Any]:
                for (key, child) in dictionary { walk(child, path.isEmpty ? key : "\(path).\(key)") }
            case let array as [Any]:
                for (index, child) in array.enumerated() { walk(child, "\(path)[\(index)]") }
            case let bool as Bool:
                result[path] = bool ? "true" : "false"
            case let string as String:
                result[path] = string
            case let number as NSNumber:
                result[path] = number.stringValue
            default:
                result[path] = "\(value)"
            }
        }
        walk(object, "")
        return result
    }

    /// The message as compact protobuf JSON, for an audit row recording a whole record.
    static func json<M: SwiftProtobuf.Message>(_ message: M) -> String {
        (try? message.jsonString()) ?? ""
    }
}
