import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The package's real executables, run as child processes the way operators and callers run them.
///
/// Waiting for a child blocks a thread, so every wait happens on a Dispatch queue, never on the
/// cooperative pool that in-process servers need to answer the child.
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

    /// Runs an executable to completion.
    static func run(
        _ name: String, _ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, input: String? = nil
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = folder.appendingPathComponent(name)
                    process.arguments = arguments
                    process.environment = cleanEnvironment(environment)
                    if let directory { process.currentDirectoryURL = directory }
                    let out = Pipe()
                    let err = Pipe()
                    process.standardOutput = out
                    process.standardError = err
                    let stdin = Pipe()
                    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
                    try process.run()
                    if let input {
                        stdin.fileHandleForWriting.write(Data(input.utf8))
                        try stdin.fileHandleForWriting.close()
                    }
                    // Drain stderr concurrently so a chatty child never blocks on a full pipe.
                    let errData = Mutex(Data())
                    let errDone = DispatchSemaphore(value: 0)
                    DispatchQueue.global().async {
                        let data = err.fileHandleForReading.readDataToEndOfFile()
                        errData.withLock { $0 = data }
                        errDone.signal()
                    }
                    let stdout = out.fileHandleForReading.readDataToEndOfFile()
                    errDone.wait()
                    process.waitUntilExit()
                    return Output(
                        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                        stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
                })
            }
        }
    }
}

/// A server executable running in the background: started, found listening (it logs its address),
/// then stopped with SIGTERM like systemd stops it.
final class ServerProcess: Sendable {
    let process: Process
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
        server.process.terminate()
        throw ServerProcessError(message: "\(name) did not start listening; its output:\n\(server.log)")
    }

    /// Starts `name` without waiting for anything (for processes that do not listen).
    static func launch(_ name: String, _ arguments: [String] = [], environment: [String: String] = [:], directory: URL) throws -> ServerProcess {
        try ServerProcess(name, arguments, environment: environment, directory: directory)
    }

    /// A test that failed before stopping its server must not leave it running.
    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// SIGKILL, as a crash or an OOM kill would end it, and waits for it to be gone.
    func kill() async {
        Glibc.kill(process.processIdentifier, SIGKILL)
        let exited = self.exited
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                exited.wait()
                continuation.resume()
            }
        }
    }

    private init(_ name: String, _ arguments: [String], environment: [String: String], directory: URL) throws {
        process = Process()
        process.executableURL = Executables.folder.appendingPathComponent(name)
        process.arguments = arguments
        process.environment = Executables.cleanEnvironment(environment)
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        DispatchQueue.global().async { [output, process, exited] in
            let handle = pipe.fileHandleForReading
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
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
        Glibc.kill(process.processIdentifier, SIGHUP)
    }

    /// Sends SIGTERM and waits (up to 30 s) for the exit status.
    func stop() async -> Int32 {
        process.terminate()
        let exited = self.exited
        let process = self.process
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                if exited.wait(timeout: .now() + 30) == .timedOut {
                    Glibc.kill(process.processIdentifier, SIGKILL)
                    exited.wait()
                }
                continuation.resume(returning: process.terminationStatus)
            }
        }
    }
}

struct ServerProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
