import Dispatch
import Foundation
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The package's real executables, run as child processes the way operators and callers run them.
///
/// Waiting for a child blocks a thread, so every wait happens on a thread of its own
/// (``ChildProcess/onOwnThread(_:)``), never on the threads that in-process servers' tasks need.
enum Executables {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug")

    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The environment without the variables that would point a child at a developer's own setup.
    /// Admin listeners take a free port unless a test names one (two servers started on
    /// neighbouring free ports must not meet at listen port + 2000).
    static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CRM_") }
        environment["CRM_ADMIN_PORT"] = "0"
        environment.merge(extra) { _, new in new }
        return environment
    }

    /// Runs an executable of the package (or, named by an absolute path, any other) to completion.
    static func run(
        _ name: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, input: String? = nil
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            ChildProcess.onOwnThread {
                continuation.resume(with: Result {
                    let out = try ChildProcess.pipe()
                    let err = try ChildProcess.pipe()
                    let stdin = try input.map { _ in try ChildProcess.pipe() }
                    let process: ChildProcess
                    do {
                        defer { [out.write, err.write, stdin?.read].compactMap { $0 }.forEach { close($0) } }
                        process = try ChildProcess(
                            executable: name.hasPrefix("/") ? name : folder.appendingPathComponent(name).path, arguments: arguments,
                            environment: cleanEnvironment(environment), directory: directory?.path,
                            stdin: stdin?.read, stdout: out.write, stderr: err.write)
                    } catch {
                        [out.read, err.read, stdin?.write].compactMap { $0 }.forEach { close($0) }
                        throw error
                    }
                    if let input, let stdin {
                        let bytes = Array(input.utf8)
                        var written = 0
                        while written < bytes.count {
                            let count = bytes[written...].withUnsafeBytes { write(stdin.write, $0.baseAddress, $0.count) }
                            if count < 0 && errno == EINTR { continue }
                            guard count > 0 else { break }
                            written += count
                        }
                        close(stdin.write)
                    }
                    // Drain stderr concurrently so a chatty child never blocks on a full pipe.
                    let errData = Mutex([UInt8]())
                    let errDone = DispatchSemaphore(value: 0)
                    ChildProcess.onOwnThread {
                        ChildProcess.drain(err.read) { chunk in errData.withLock { $0 += chunk } }
                        errDone.signal()
                    }
                    var stdout = [UInt8]()
                    ChildProcess.drain(out.read) { stdout += $0 }
                    errDone.wait()
                    let status = process.waitUntilExit()
                    return Output(
                        status: status, stdout: String(decoding: stdout, as: UTF8.self),
                        stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
                })
            }
        }
    }
}

/// A server executable running in the background: started, found listening (it logs its address),
/// then stopped with SIGTERM like systemd stops it.
final class ServerProcess: Sendable {
    let process: ChildProcess
    private let output = Output()

    /// What the child wrote, shared with the thread that reads it (which must not hold the
    /// ServerProcess, or a forgotten server could never be killed in `deinit`).
    private final class Output: Sendable {
        let text = Mutex("")
    }
    private let exited = DispatchSemaphore(value: 0)

    /// Everything the server wrote to stdout so far.
    var log: String { output.text.withLock { $0 } }

    /// Starts `name` and waits (up to 20 s) until it logs that it listens; returns with its port.
    static func start(
        _ name: String, _ arguments: [String] = [], environment: [String: String] = [:], directory: URL
    ) async throws -> (ServerProcess, Int) {
        let server = try ServerProcess(name, arguments, environment: environment, directory: directory)
        for _ in 0..<200 {
            if let port = server.listeningPort { return (server, port) }
            if !server.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        server.process.send(SIGTERM)
        throw ServerProcessError(message: "\(name) did not start listening; its output:\n\(server.log)")
    }

    /// Starts `name` without waiting for anything (for processes that do not listen).
    static func launch(_ name: String, _ arguments: [String] = [], environment: [String: String] = [:], directory: URL) throws -> ServerProcess {
        try ServerProcess(name, arguments, environment: environment, directory: directory)
    }

    /// A test that failed before stopping its server must not leave it running.
    deinit {
        process.send(SIGKILL)
    }

    /// SIGKILL, as a crash or an OOM kill would end it, and waits for it to be gone.
    func kill() async {
        process.send(SIGKILL)
        let exited = self.exited
        await withCheckedContinuation { continuation in
            ChildProcess.onOwnThread {
                exited.wait()
                exited.signal()  // a later stop() or kill() passes too
                continuation.resume()
            }
        }
    }

    private init(_ name: String, _ arguments: [String], environment: [String: String], directory: URL) throws {
        let (process, output) = try ChildProcess.withCombinedOutput(
            executable: Executables.folder.appendingPathComponent(name).path, arguments: arguments,
            environment: Executables.cleanEnvironment(environment), directory: directory.path)
        self.process = process
        ChildProcess.onOwnThread { [log = self.output, exited] in
            ChildProcess.drain(output) { chunk in log.text.withLock { $0 += String(decoding: chunk, as: UTF8.self) } }
            process.waitUntilExit()
            exited.signal()
        }
    }

    /// The port from the server's `listening` log line (`address=[IPv4]127.0.0.1/127.0.0.1:PORT`).
    var listeningPort: Int? { port(loggedWith: "listening") }

    /// The port of the first log line containing `message` (`address=...127.0.0.1:PORT ...`).
    private func port(loggedWith message: String) -> Int? {
        for line in log.split(separator: "\n") where line.contains(message) {
            guard let range = line.range(of: #":(\d+) "#, options: .regularExpression) else { continue }
            return Int(line[range].dropFirst().dropLast())
        }
        return nil
    }

    /// The admin listener's port, from its `admin endpoint open` log line.
    var adminPort: Int? { port(loggedWith: "admin endpoint open") }

    /// Waits (up to 10 s) for the admin listener's port.
    func waitForAdminPort() async throws -> Int {
        for _ in 0..<100 {
            if let port = adminPort { return port }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServerProcessError(message: "no admin endpoint; the output:\n\(log)")
    }

    /// Sends SIGHUP (systemctl reload).
    func hangUp() {
        process.send(SIGHUP)
    }

    /// Sends SIGTERM and waits (up to 30 s) for the exit status.
    func stop() async -> Int32 {
        process.send(SIGTERM)
        let exited = self.exited
        let process = self.process
        return await withCheckedContinuation { continuation in
            ChildProcess.onOwnThread {
                if exited.wait(timeout: .now() + 30) == .timedOut {
                    process.send(SIGKILL)
                    exited.wait()
                }
                exited.signal()  // a second stop() (or kill()) passes too
                continuation.resume(returning: process.waitUntilExit())
            }
        }
    }
}

struct ServerProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
