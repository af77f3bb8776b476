internal import Foundation
internal import SwiftProtobuf

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
