public import Foundation

/// A thread-safe box for facts handlers record and tests read.
public final class Recorder<Value: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `lock` (Foundation's NSLock keeps tests free of extra imports).
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) { stored = value }
    public var value: Value { lock.withLock { stored } }
    public func update(_ body: @Sendable (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

/// Waits until `condition` holds, polling, for at most `seconds`.
public func eventually(seconds: Double = 5, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
