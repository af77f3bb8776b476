import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A loopback port that was free a moment ago, for a server a test starts (and perhaps restarts)
/// on a known port.
///
/// Drawn below Linux's ephemeral range (32768-60999): a port from a throw-away bind to port 0 can
/// be handed to another socket of the parallel test run (a listener bound to port 0, or the source
/// port of one of the hostile-input test's thousands of client connections) before, or between,
/// the test's own binds. Both happened in full runs.
///
/// A port is never handed out twice in one process: two tests that drew the same free port before
/// either had bound it would meet each other's server (a launcher test's health call was answered
/// by another test's server in a CI run).
public func freeLoopbackPort() throws -> Int {
    for _ in 0..<500 {
        let port = Int.random(in: 20_000..<32_000)
        guard handedOut.withLock({ $0.insert(port).inserted }) else { continue }
        if canBindLoopback(port) { return port }
    }
    throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "no free loopback port between 20000 and 32000"])
}

private let handedOut = Mutex<Set<Int>>([])

private func canBindLoopback(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
