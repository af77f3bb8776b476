public import NIOCore

/// How long the tests' clients wait to connect and finish the handshake. Generous on purpose: at
/// the suite's peak (the 10,000-connection hostile test, the handshake flood and the process tests
/// at once) a loopback connect on a 2-core host whose other guests steal CPU took more than 10 s,
/// and 5 s for HELLO_ACK was not enough (docs/BENCHMARKS.md, "Session 17"). What the tests check
/// are the servers' own timeouts, not these.
public enum TestTimeouts {
    public static let connect: TimeAmount = .seconds(30)
}
