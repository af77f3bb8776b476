import Dispatch
import Foundation
import GRDB
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fake systemd: a datagram socket at a temporary path that records what the server sends to
/// `$NOTIFY_SOCKET`.
final class FakeNotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let received = Received()

    final class Received: Sendable {
        let messages = Mutex<[(at: ContinuousClock.Instant, text: String)]>([])
        /// Set by ``close()``; the reader sees it within its 100 ms receive timeout.
        let stopping = Atomic<Bool>(false)
        /// Signalled by the reader as it returns: only then may the descriptor be closed.
        let readerDone = DispatchSemaphore(value: 0)
    }

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let received = self.received
        ChildProcess.onOwnThread {
            defer { received.readerDone.signal() }
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !received.stopping.load(ordering: .acquiring) {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    received.messages.withLock { $0.append((ContinuousClock.now, message)) }
                } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                    return
                }
            }
        }
    }

    var messages: [String] { received.messages.withLock { $0.map(\.text) } }

    /// The WATCHDOG=1 pings that arrived between two instants.
    func pings(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Int {
        received.messages.withLock { $0.filter { $0.text.contains("WATCHDOG=1") && $0.at >= start && $0.at <= end }.count }
    }

    /// Stops the reader, then closes the socket. The order matters: a reader still calling recv
    /// on a closed descriptor number reads from whatever socket of this process is given that
    /// number next (another test's connection), stealing its bytes; that closed unrelated
    /// connections in full test runs.
    func close() {
        received.stopping.store(true, ordering: .releasing)
        shutdown(fd, Int32(SHUT_RDWR))
        received.readerDone.wait()
        Glibc.close(fd)
        unlink(path)
    }
}

@Suite("systemd notifications", .serialized)
struct SystemdNotifyTests {
    @Test("under systemd the server sends READY=1 once listening, WATCHDOG=1 while healthy, RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM, in that order")
    func notifications() async throws {
        let temporary = try TemporaryFolder("crm-notify")
        let folder = temporary.url
        let systemd = try FakeNotifySocket()
        defer { systemd.close() }
        let environment = [
            "CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path,
            "NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "200000",
        ]
        let (server, _) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        try await Task.sleep(for: .milliseconds(600))
        server.hangUp()
        try await Task.sleep(for: .milliseconds(600))
        #expect(await server.stop() == 0)
        try await Task.sleep(for: .milliseconds(200))
        let messages = systemd.messages
        let kinds = messages.map { message -> String in
            if message.contains("RELOADING=1") { return "RELOADING" }
            if message.contains("READY=1") { return "READY" }
            if message.contains("STOPPING=1") { return "STOPPING" }
            if message.contains("WATCHDOG=1") { return "WATCHDOG" }
            return message
        }
        #expect(kinds.first == "READY", "\(messages)")
        #expect(kinds.last == "STOPPING", "\(messages)")
        let reloading = try #require(kinds.firstIndex(of: "RELOADING"), "\(messages)")
        #expect(kinds[..<reloading].filter { $0 == "WATCHDOG" }.count >= 2, "pings every 100 ms before the reload: \(messages)")
        // The watchdog keeps pinging while the reload runs, so a ping may come between the two.
        #expect(kinds[reloading...].dropFirst().first { $0 != "WATCHDOG" } == "READY", "READY=1 once the reload is done: \(messages)")
        #expect(kinds[reloading...].contains("WATCHDOG"), "pings go on after the reload: \(messages)")
        #expect(kinds.filter { $0 == "RELOADING" }.count == 1)
        #expect(messages.first?.contains("MAINPID=\(server.process.processIdentifier)") == true)
        #expect(messages[reloading].contains("MONOTONIC_USEC="))
        #expect(server.log.contains("configuration reloaded"))
    }

    @Test("a server whose database stalls (another process holds the write lock) stops pinging the watchdog, and pings again once it is free")
    func stalledDatabaseStopsPings() async throws {
        let temporary = try TemporaryFolder("crm-notify")
        let folder = temporary.url
        let systemd = try FakeNotifySocket()
        defer { systemd.close() }
        let path = folder.appendingPathComponent("customer.sqlite").path
        let environment = ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": path, "NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "200000"]
        let (server, _) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        try await Task.sleep(for: .milliseconds(500))
        #expect(systemd.pings(from: .now - .seconds(10), to: .now) >= 2, "healthy at first: \(systemd.messages)")

        // Another process takes SQLite's write lock and keeps it for 4 s: the server cannot write.
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the lock is kept between two accesses on purpose
        let holder = try DatabaseQueue(path: path, configuration: holding)
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let heldAt = ContinuousClock.now
        try await Task.sleep(for: .seconds(4))
        let releasedAt = ContinuousClock.now
        try await holder.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        try await Task.sleep(for: .seconds(3))

        // A check that began before the lock was taken may still ping; none after a check's 1 s limit.
        #expect(systemd.pings(from: heldAt + .milliseconds(1_500), to: releasedAt) == 0, "\(systemd.messages)")
        #expect(systemd.pings(from: releasedAt, to: .now) >= 2, "pings again once the lock is free: \(systemd.messages)")
        #expect(server.log.contains("not pinging the watchdog"))
        #expect(await server.stop() == 0)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and the server runs as before")
    func withoutSystemd() async throws {
        let temporary = try TemporaryFolder("crm-notify")
        let folder = temporary.url
        let (server, _) = try await ServerProcess.start(
            "crm-customer", environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("c.sqlite").path],
            directory: folder)
        #expect(await server.stop() == 0)
    }
}
