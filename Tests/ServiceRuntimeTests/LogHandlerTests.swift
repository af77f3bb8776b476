import Logging
@testable import ServiceRuntime
import Synchronization
import Testing

@Suite("Log handler")
struct LogHandlerTests {
    /// What reaches the inner handler: its records, and how often its metadata was changed.
    final class Seen: Sendable {
        let events = Mutex<[LogEvent]>([])
        let metadataChanges = Mutex(0)
    }

    struct Capturing: LogHandler {
        let seen: Seen
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:] {
            didSet { seen.metadataChanges.withLock { $0 += 1 } }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { seen.events.withLock { $0.append(event) } }
    }

    @Test("the logger's metadata reaches the inner handler with each record, never as a change of its own; a record's own metadata wins")
    func metadataTravelsWithRecords() {
        let seen = Seen()
        var logger = Logger(label: "test") { _ in ReloadableLevelLogHandler(Capturing(seen: seen)) }
        logger[metadataKey: "method"] = "Customer.Get"
        logger[metadataKey: "stream"] = "7"
        #expect(logger[metadataKey: "stream"] == "7")
        // Critical: another test may have put a reloaded level in force for the whole process.
        logger.critical("one", metadata: ["stream": "9", "code": "OK"])
        logger.critical("two")
        let events = seen.events.withLock { $0 }
        #expect(events.map(\.message.description) == ["one", "two"])
        #expect(events.first?.metadata == ["method": "Customer.Get", "stream": "9", "code": "OK"])
        #expect(events.last?.metadata == ["method": "Customer.Get", "stream": "7"])
        #expect(seen.metadataChanges.withLock { $0 } == 0)
    }
}
