import Dispatch
import Foundation
import Synchronization
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
        let messages = Mutex<[String]>([])
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
        DispatchQueue.global().async {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count > 0 {
                    let message = String(decoding: buffer[0..<count], as: UTF8.self)
                    received.messages.withLock { $0.append(message) }
                } else if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                    return
                }
            }
        }
    }

    var messages: [String] { received.messages.withLock { $0 } }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        unlink(path)
    }
}

@Suite("systemd notifications", .serialized)
struct SystemdNotifyTests {
    @Test("under systemd the server sends READY=1 once listening, WATCHDOG=1 while healthy, STOPPING=1 on SIGTERM, in that order")
    func notifications() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let systemd = try FakeNotifySocket()
        defer { systemd.close() }
        let environment = [
            "CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path,
            "NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "200000",
        ]
        let (server, _) = try await ServerProcess.start("crm-customer", environment: environment, directory: folder)
        try await Task.sleep(for: .milliseconds(600))
        #expect(await server.stop() == 0)
        try await Task.sleep(for: .milliseconds(200))
        let messages = systemd.messages
        let kinds = messages.map { message -> String in
            if message.contains("READY=1") { return "READY" }
            if message.contains("STOPPING=1") { return "STOPPING" }
            if message.contains("WATCHDOG=1") { return "WATCHDOG" }
            return message
        }
        #expect(kinds.first == "READY", "\(messages)")
        #expect(kinds.last == "STOPPING", "\(messages)")
        #expect(kinds.filter { $0 == "WATCHDOG" }.count >= 2, "pings every 100 ms: \(messages)")
        #expect(messages.first?.contains("MAINPID=\(server.process.processIdentifier)") == true)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and the server runs as before")
    func withoutSystemd() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-notify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (server, _) = try await ServerProcess.start(
            "crm-customer", environment: ["CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("c.sqlite").path],
            directory: folder)
        #expect(await server.stop() == 0)
    }
}
