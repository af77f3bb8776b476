public import WireProtocol

/// Collects everything wrong with a request, so that the caller learns of every bad field in one
/// INVALID_ARGUMENT answer rather than one per attempt.
public struct FieldViolations: Sendable {
    public init() {}

    public private(set) var all: [RPCError.FieldViolation] = []

    public var isEmpty: Bool { all.isEmpty }

    public mutating func add(_ field: String, _ description: String) {
        all.append(.init(field: field, description: description))
    }

    /// Checks a free-text field's length in Unicode scalars (what the proto comments state) and that
    /// it holds no control characters. Returns the value trimmed of surrounding white space.
    public mutating func text(_ value: String, _ field: String, max: Int, required: Bool = false) -> String {
        let trimmed = value.trimmingWhitespace()
        if required && trimmed.isEmpty {
            add(field, "is required")
        } else if trimmed.unicodeScalars.count > max {
            add(field, "must be at most \(max) characters")
        } else if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            add(field, "must not contain control characters")
        }
        return trimmed
    }

    /// Checks a page size against its maximum; returns the size to use (`defaultSize` for 0).
    public mutating func pageSize(_ value: UInt32, _ field: String = "pageSize", max: UInt32, defaultSize: UInt32) -> Int {
        if value > max { add(field, "must be at most \(max)") }
        return Int(value == 0 ? defaultSize : Swift.min(value, max))
    }

    /// Reads a page token this service issued (``PageToken``); returns the key it continues after,
    /// or `initial` for no token.
    public mutating func pageToken(_ token: String, _ field: String = "pageToken", initial: Int64 = 0) -> Int64 {
        guard !token.isEmpty else { return initial }
        guard let key = PageToken.key(from: token) else {
            add(field, "is not a token this service issued")
            return initial
        }
        return key
    }

    /// Checks a code such as a branch or RM id: ASCII letters, digits, `-` and `_`.
    public mutating func code(_ value: String, _ field: String, max: Int, required: Bool = false) -> String {
        let trimmed = value.trimmingWhitespace()
        if required && trimmed.isEmpty {
            add(field, "is required")
        } else if trimmed.unicodeScalars.count > max {
            add(field, "must be at most \(max) characters")
        } else if !trimmed.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }) {
            add(field, "may hold only letters, digits, - and _")
        }
        return trimmed
    }

    /// Checks an ISO 3166-1 alpha-3 country code; empty becomes `defaultValue`.
    public mutating func country(_ value: String, _ field: String, defaultValue: String = "") -> String {
        let code = value.trimmingWhitespace().uppercased()
        if code.isEmpty { return defaultValue }
        if code.unicodeScalars.count != 3 || !code.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) {
            add(field, "must be an ISO 3166-1 alpha-3 code such as CHN")
        }
        return code
    }

    /// Checks an enum value: `known` is false for values this version does not know.
    public mutating func enumeration(known: Bool, isUnspecified: Bool, _ field: String, required: Bool) {
        if !known {
            add(field, "is not a known value")
        } else if required && isUnspecified {
            add(field, "is required")
        }
    }

    /// Throws INVALID_ARGUMENT listing every violation, if there are any.
    public func throwIfAny() throws {
        guard !all.isEmpty else { return }
        let summary = all.prefix(3).map { "\($0.field) \($0.description)" }.joined(separator: "; ")
        throw RPCError(
            code: .invalidArgument, message: all.count > 3 ? summary + "; and \(all.count - 3) more" : summary,
            reason: .invalidField, processing: .notProcessed, fieldViolations: all)
    }
}

extension String {
    /// The string without leading and trailing white space (Unicode's definition).
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }
}
