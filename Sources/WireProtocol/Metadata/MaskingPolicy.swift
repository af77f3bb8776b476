/// How one role sees each kind of personal field: in clear, partly masked, or withheld.
///
/// The gateway holds a policy per role (its `roles` configuration) and sends the caller's on every
/// forwarded call as the `masking` metadata, `name=partial,birth_date=withheld,...`; the service that
/// owns the data masks its answers by it. A field a policy does not name is withheld, and a value that
/// does not parse withholds everything: a mistake hides data rather than shows it.
public struct MaskingPolicy: Sendable, Hashable {
    public enum Field: String, Sendable, CaseIterable, Comparable {
        /// An individual's names in Chinese and Latin script (never a company's legal name), and a
        /// household's name, which usually carries the family's.
        case name
        case birthDate = "birth_date"
        /// Identity document numbers.
        case document
        case phone
        case email
        /// Postal addresses.
        case address

        public static func < (lhs: Field, rhs: Field) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public enum Treatment: String, Sendable, CaseIterable {
        case clear
        /// Enough left for a person to tell two customers apart: a name's first character, a birth
        /// date's year, a number's first and last digits, an e-mail's first letter and domain, an
        /// address's city and province.
        case partial
        case withheld
    }

    public private(set) var treatments: [Field: Treatment]

    /// `treatments`, with every field it does not name withheld.
    public init(_ treatments: [Field: Treatment]) {
        var all: [Field: Treatment] = [:]
        for field in Field.allCases { all[field] = treatments[field] ?? .withheld }
        self.treatments = all
    }

    public func treatment(of field: Field) -> Treatment { treatments[field] ?? .withheld }

    /// Every field in clear.
    public static let clear = MaskingPolicy(Dictionary(uniqueKeysWithValues: Field.allCases.map { ($0, .clear) }))

    /// A role the bank has not described: enough to recognise a customer, nothing to contact or
    /// identify them by.
    public static let restricted = MaskingPolicy([
        .name: .partial, .birthDate: .withheld, .document: .partial, .phone: .partial, .email: .partial, .address: .withheld,
    ])

    /// The roles every gateway knows without configuration; their work needs personal data in full.
    public static let builtInRoles: [String: MaskingPolicy] = [
        "kyc": .clear, "servicing": .clear, "risk": .clear, "compliance": .clear,
    ]

    /// The built-in policy of `role`: ``clear`` for the built-in roles, ``restricted`` for any other.
    public static func builtIn(role: String) -> MaskingPolicy { builtInRoles[role] ?? .restricted }

    /// Whether every field is in clear: the caller may read everything, the audit trail included.
    public var isClear: Bool { Field.allCases.allSatisfy { treatment(of: $0) == .clear } }

    /// Whether some field is in clear: an answer to this caller is a read of personal data.
    public var showsSomeInClear: Bool { Field.allCases.contains { treatment(of: $0) == .clear } }

    /// The metadata value: every field in declaration order, `field=treatment`, comma-separated.
    public var encoded: String {
        Field.allCases.map { "\($0.rawValue)=\(treatment(of: $0).rawValue)" }.joined(separator: ",")
    }

    /// Parses ``encoded``; nil if an entry is malformed or names an unknown field or treatment, or a
    /// field twice.
    public init?(encoded: String) {
        var treatments: [Field: Treatment] = [:]
        for entry in encoded.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = entry.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let field = Field(rawValue: String(parts[0])), let treatment = Treatment(rawValue: String(parts[1])),
                treatments[field] == nil
            else { return nil }
            treatments[field] = treatment
        }
        self.init(treatments)
    }
}
