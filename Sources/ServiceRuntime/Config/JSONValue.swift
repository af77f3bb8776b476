internal import Configuration

/// A configuration file's JSON, decoded strictly (`true` is not `1`, `1.5` is not an integer) so
/// that a value of the wrong type is reported against its key rather than coerced.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Every leaf by dotted key (`{"listen": {"port": 1}}` -> `listen.port`), with its value when
    /// it is a scalar or a list of strings or integers, nil otherwise (a list of objects, null).
    func flattened(prefix: String = "") -> [String: ConfigContent?] {
        var leaves: [String: ConfigContent?] = [:]
        switch self {
        case .object(let members):
            for (name, value) in members {
                let key = prefix.isEmpty ? name : "\(prefix).\(name)"
                if case .object = value {
                    leaves.merge(value.flattened(prefix: key)) { first, _ in first }
                } else {
                    leaves[key] = value.content
                }
            }
        default:
            leaves[prefix] = content
        }
        return leaves
    }

    private var content: ConfigContent? {
        switch self {
        case .bool(let value): .bool(value)
        case .int(let value): .int(value)
        case .double(let value): .double(value)
        case .string(let value): .string(value)
        case .array(let items):
            if case let strings = items.compactMap({ if case .string(let s) = $0 { s } else { nil } }), strings.count == items.count {
                .stringArray(strings)
            } else if case let ints = items.compactMap({ if case .int(let i) = $0 { i } else { nil } }), ints.count == items.count {
                .intArray(ints)
            } else {
                nil
            }
        case .null, .object: nil
        }
    }
}
