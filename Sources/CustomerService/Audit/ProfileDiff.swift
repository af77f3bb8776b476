internal import Foundation
internal import SwiftProtobuf
internal import WireProtocol

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
    /// fields of a profile whose JSON round trip is most of the diff's cost.
    static func profileChanges(from old: Crm_Customer_V1_CustomerProfile, to new: Crm_Customer_V1_CustomerProfile) -> [Change] {
        var (old, new) = (old, new)
        if old.individual == new.individual { old.clearIndividual(); new.clearIndividual() }
        if old.corporate == new.corporate { old.clearCorporate(); new.clearCorporate() }
        if old.documents == new.documents { old.documents = []; new.documents = [] }
        if old.contacts == new.contacts { old.contacts = []; new.contacts = [] }
        return changes(from: old, to: new)
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
