internal import Foundation

/// A configuration problem, printed as one line naming the key.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The key at fault (`listen.port`), or nil for a problem with the file itself.
    public var key: String?
    /// Where the value came from (`file /etc/crm/customer.json`, `environment CRM_LISTEN_PORT`),
    /// when it was read from somewhere.
    public var source: String?
    public var message: String

    public init(key: String?, source: String? = nil, message: String) {
        self.key = key
        self.source = source
        self.message = message
    }

    public var description: String {
        guard let key else { return "configuration error: \(message)" }
        let origin = source ?? "env CRM_\(Self.environmentName(key))"
        return "configuration error: \(key) (\(origin)): \(message)"
    }

    /// The environment variable (after its `CRM_` prefix) that overrides a key: `listen.port` is
    /// `LISTEN_PORT`.
    public static func environmentName(_ key: String) -> String {
        key.uppercased().replacingOccurrences(of: ".", with: "_")
    }
}
