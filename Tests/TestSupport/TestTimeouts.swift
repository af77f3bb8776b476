public import NIOCore
public import ServiceRuntime
public import RPCTransport

/// How long the tests' clients wait to connect and finish the handshake. Generous on purpose: at
/// the suite's peak (the 10,000-connection hostile test, the handshake flood and the process tests
/// at once) a loopback connect on a 2-core host whose other guests steal CPU took more than 10 s,
/// and 5 s for HELLO_ACK was not enough (the history of docs/BENCHMARKS.md, "A loaded host"). What the tests check
/// are the servers' own timeouts, not these.
public enum TestTimeouts {
    public static let connect: TimeAmount = .seconds(30)
    /// The deadline of a call whose answer the test needs (not one retried in an `eventually` loop).
    /// At the suite's peak a call to a freshly started process took more than 10 s.
    public static let call: TimeAmount = .seconds(30)
}

extension RPCClient.Configuration {
    /// A plain-TCP client of a process the test started on loopback, waiting `TestTimeouts.connect`.
    public static func loopback(port: Int) -> Self {
        .init(host: "127.0.0.1", port: port, options: .init(connectTimeout: TestTimeouts.connect))
    }
}
