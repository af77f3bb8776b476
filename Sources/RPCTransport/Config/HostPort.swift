internal import Foundation

/// A `host:port` address from configuration (`127.0.0.1:7101`, `[::1]:7101`, `crm-customer.internal:7101`).
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Nil unless `address` is a non-empty host, a colon and a port from 1 to 65535.
    public init?(parsing address: String) {
        guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
            let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        self.init(host: String(address[..<colon]).trimmingCharacters(in: ["[", "]"]), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
