import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
public import Glibc
#endif

/// A child process started with `posix_spawn`, for the tests that run the package's executables and
/// scripts.
///
/// Not Foundation's `Process`: on Linux it lists `/proc/self/fd` to close what the child would
/// inherit and over-reads its directory buffer once the test process holds more than about 1,350
/// descriptors (swift-corelibs-foundation PR 5472), which crashed CI runs. Here the child closes
/// every descriptor above stderr with glibc's `closefrom` file action (one `close_range` call).
public final class ChildProcess: Sendable {
    public let processIdentifier: pid_t
    private let state = State()

    /// Shared with the thread that reaps the child.
    private final class State: Sendable {
        let status = Mutex<Int32?>(nil)
        let exited = DispatchSemaphore(value: 0)
    }

    /// Starts `executable`. `stdin`, `stdout` and `stderr` are descriptors the child gets as 0, 1
    /// and 2 (nil: /dev/null); the caller closes its own copies once this returns.
    public init(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
        stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil
    ) throws(ChildProcessError) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            if let source {
                posix_spawn_file_actions_adddup2(&actions, source, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        if let directory {
            guard Self.addChdir(&actions, directory) == 0 else { throw ChildProcessError("cannot set the directory \(directory)") }
        }
        guard Self.addClosefrom(&actions, 3) == 0 else { throw ChildProcessError("cannot close inherited descriptors") }

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") }
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                posix_spawn(&pid, executable, &actions, nil, argvBuffer.baseAddress!, envpBuffer.baseAddress!)
            }
        }
        guard result == 0 else { throw ChildProcessError("posix_spawn \(executable): \(String(cString: strerror(result)))") }
        processIdentifier = pid
        let child = pid

        // Reaps the child on a thread of its own: waitpid blocks for the child's lifetime.
        Self.onOwnThread { [state] in
            var raw: Int32 = 0
            while waitpid(child, &raw, 0) == -1 && errno == EINTR {}
            // Exit code, or the signal number for a child killed by a signal, as Foundation reports it.
            let code = (raw & 0x7f) == 0 ? (raw >> 8) & 0xff : raw & 0x7f
            state.status.withLock { $0 = code }
            state.exited.signal()
        }
    }

    /// Starts `executable` with its stdout and stderr going into one pipe; returns the child and
    /// the pipe's read end (read it to its end, e.g. with ``drain(_:_:)``, which closes it).
    public static func withCombinedOutput(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil
    ) throws(ChildProcessError) -> (process: ChildProcess, output: Int32) {
        let pipe = try Self.pipe()
        defer { close(pipe.write) }
        do {
            let process = try ChildProcess(
                executable: executable, arguments: arguments, environment: environment, directory: directory,
                stdout: pipe.write, stderr: pipe.write)
            return (process, pipe.read)
        } catch {
            close(pipe.read)
            throw error
        }
    }

    /// Runs blocking work (a wait for a child, a read to the end of its output) on a thread of its
    /// own. Not on Dispatch's global queue: on Linux Swift's tasks run on the same threads, and each
    /// one blocked for a child's lifetime is one fewer for every test's tasks (a CI run, with some
    /// 40 of them blocked, held a 500 ms handler past its caller's 10 s deadline).
    public static func onOwnThread(_ body: @escaping @Sendable () -> Void) {
        Thread.detachNewThread(body)
    }

    public var isRunning: Bool { state.status.withLock { $0 } == nil }

    /// Blocks until the child exits; its exit code (or the signal that ended it).
    @discardableResult
    public func waitUntilExit() -> Int32 {
        state.exited.wait()
        state.exited.signal()  // later waiters pass too
        return state.status.withLock { $0 } ?? -1
    }

    /// Sends `signal` unless the child was already reaped (its pid may belong to another process by then).
    public func send(_ signal: Int32) {
        state.status.withLock { if $0 == nil { _ = kill(processIdentifier, signal) } }
    }

    /// A pipe for a child's standard streams. Another child started meanwhile does not keep its
    /// ends open (which would hold off the end of file): every child closes what it inherits above 2.
    public static func pipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
        return (ends[0], ends[1])
    }

    /// Reads `descriptor` to its end, calling `chunk` with each read, then closes it.
    public static func drain(_ descriptor: Int32, _ chunk: ([UInt8]) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 {
                chunk(Array(buffer[0..<count]))
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        close(descriptor)
    }

    // glibc has both file actions (2.29 and 2.34) but Swift's Glibc module does not declare them.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { return -1 }
        return unsafeBitCast(symbol, to: AddChdir.self)(actions, path)
    }

    private static func addClosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Int32 {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return -1 }
        return unsafeBitCast(symbol, to: AddClosefrom.self)(actions, lowest)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
