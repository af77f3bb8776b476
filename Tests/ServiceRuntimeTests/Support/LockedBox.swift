import Foundation

/// A minimal lock-protected value for tests (Foundation's NSLock keeps tests free of extra imports).
final class NIOLockedValueBoxWrapper<Value>: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func update(_ body: (inout Value) -> Void) { lock.withLock { body(&value) } }
}
