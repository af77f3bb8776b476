public import WireProtocol
public import CRMAPI

/// Which methods a caller may call: `*` (every method), `Customer.*` (every method of a service),
/// or `Customer.Get` (one method). Names are those of ``MethodRegistry``; a pattern that names no
/// known service or method is a configuration error, so a typo cannot silently allow nothing.
public struct MethodPattern: Sendable, Hashable, CustomStringConvertible {
    enum Scope: Hashable {
        case everything
        case service(String)
        case method(MethodID)
    }

    let scope: Scope
    public let description: String

    public init(_ text: String) throws(PolicyError) {
        description = text
        if text == "*" {
            scope = .everything
        } else if text.hasSuffix(".*") {
            let service = String(text.dropLast(2))
            guard MethodRegistry.all.contains(where: { $0.serviceName == service }) else {
                throw PolicyError("method pattern \"\(text)\" names no known service")
            }
            scope = .service(service)
        } else if let method = MethodRegistry.method(named: text) {
            scope = .method(method.id)
        } else {
            throw PolicyError("method pattern \"\(text)\" names no known method (use Service.Method, Service.* or *)")
        }
    }

    public func matches(_ method: MethodInfo) -> Bool {
        switch scope {
        case .everything: true
        case .service(let name): method.serviceName == name
        case .method(let id): method.id == id
        }
    }
}

/// A caller policy that cannot be used; the message names the caller and the field.
public struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
