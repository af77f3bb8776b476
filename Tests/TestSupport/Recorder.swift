internal import Foundation

/// A thread-safe box for facts handlers record and tests read.
public final class Recorder<Value: Sendable>: @unchecked Sendable {
    // @unchecked: every access goes through `lock` (Foundation's NSLock keeps tests free of extra imports).
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) { stored = value }
    public var value: Value { lock.withLock { stored } }
    public func update(_ body: @Sendable (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

/// Waits until `condition` holds, polling, for at most three times `seconds`.
///
/// The windows written in the tests are what a quiet machine needs; the whole suite runs in
/// parallel on two cores beside CI's other work, and full runs have needed more than twice a
/// window. A condition that holds returns at once, so the slack only lengthens a failing test.
public func eventually(seconds: Double = 5, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds * 3)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
