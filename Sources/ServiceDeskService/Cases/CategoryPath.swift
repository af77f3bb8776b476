internal import ServiceRuntime

extension FieldViolations {
    /// Checks a category path such as "cards/fees": 1 to 5 segments of lower-case ASCII letters,
    /// digits, `-` and `_`, joined by `/`, at most 100 characters. Reports roll categories up to their
    /// first segment, so the tree is the paths themselves.
    mutating func categoryPath(_ value: String, _ field: String, required: Bool = true) -> String {
        let trimmed = value.trimmingWhitespace()
        if trimmed.isEmpty {
            if required { add(field, "is required") }
            return trimmed
        }
        let segments = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        let valid = trimmed.utf8.count <= 100 && segments.count <= 5
            && segments.allSatisfy { segment in
                !segment.isEmpty
                    && segment.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
            }
        if !valid { add(field, "must be a path such as cards/fees: 1 to 5 segments of a-z, 0-9, - and _, at most 100 characters") }
        return trimmed
    }
}

enum CategoryPath {
    /// The first segment: "cards" for "cards/fees".
    static func top(_ path: String) -> String { String(path.prefix { $0 != "/" }) }

    /// Whether `path` is `ancestor` or below it.
    static func path(_ path: String, isWithin ancestor: String) -> Bool { path == ancestor || path.hasPrefix(ancestor + "/") }
}
