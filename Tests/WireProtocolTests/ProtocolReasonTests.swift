import Foundation
import Testing

/// Every error reason the code can send is in docs/PROTOCOL.md: a client written from the spec alone
/// must find each one there. Reasons are `ErrorReason` constants, declared in one file per module
/// (`*Reasons.swift`); the sources are read as text.
@Suite("docs/PROTOCOL.md reasons")
struct ProtocolReasonTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Each `ErrorReason("...")` in the package's sources (generated code aside), with the file that
    /// declares it.
    static func reasonsInSources() throws -> [(reason: String, file: URL)] {
        let sources = root.appendingPathComponent("Sources")
        let declaration = try Regex(#"ErrorReason\("([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)"\)"#)
        var found: [(reason: String, file: URL)] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        for case let file as URL in files where file.pathExtension == "swift" && !file.path.contains("/Generated/") {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: declaration) {
                if let reason = match.output[1].substring { found.append((String(reason), file)) }
            }
        }
        return found
    }

    @Test("every reason a server or client sends is in the spec")
    func everyReasonDocumented() throws {
        let spec = try String(contentsOf: Self.root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        let reasons = try Self.reasonsInSources()
        #expect(reasons.count > 60, "the scan found the reasons: \(reasons.count)")
        #expect(reasons.contains { $0.reason == "BAD_PREFACE" } && reasons.contains { $0.reason == "STALE_VERSION" })
        for (reason, file) in reasons.sorted(by: { $0.reason < $1.reason }) where !spec.contains("`\(reason)`") {
            Issue.record("\(reason) (declared in \(file.lastPathComponent)) is not in docs/PROTOCOL.md")
        }
    }

    @Test("reasons are declared once each, in one reasons file per module")
    func oneFilePerModule() throws {
        let reasons = try Self.reasonsInSources()
        for (reason, file) in reasons where !file.lastPathComponent.hasSuffix("Reasons.swift") {
            Issue.record("\(reason) is declared in \(file.lastPathComponent), not in its module's reasons file")
        }
        var modules: [String: Set<String>] = [:]
        for (_, file) in reasons {
            let parts = file.pathComponents
            let module = parts[parts.lastIndex(of: "Sources")! + 1]
            modules[module, default: []].insert(file.lastPathComponent)
        }
        for (module, files) in modules where files.count > 1 { Issue.record("\(module) declares reasons in \(files.sorted())") }
        let repeated = Dictionary(grouping: reasons, by: \.reason).filter { $0.value.count > 1 }.keys.sorted()
        #expect(repeated.isEmpty, "declared more than once: \(repeated)")
    }
}
