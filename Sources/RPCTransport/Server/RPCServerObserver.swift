/// What the transport reports as connections and calls come and go. The runtime's Prometheus
/// metrics implement it; the transport itself keeps no metrics, so it links no registry.
public protocol RPCServerObserver: Sendable {
    func connectionOpened()
    func connectionClosed()
    /// A connection turned away at the connection limit.
    func connectionRefused()
    /// A TLS handshake that failed.
    func handshakeFailed()
    func callStarted()
    /// A call that ended, with its method's name (nil for an unknown method) and final code.
    func callFinished(method: String?, code: String, duration: Duration)
}
