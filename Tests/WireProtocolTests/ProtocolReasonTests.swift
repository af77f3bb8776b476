import Foundation
import Testing

/// Every error reason the code can send is in docs/PROTOCOL.md: a client written from the spec alone
/// must find each one there. The sources are read as text: each `reason: "..."` literal and each
/// reason of a malformed frame.
@Suite("docs/PROTOCOL.md reasons")
struct ProtocolReasonTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Each reason literal in the package's sources (generated code aside), with the file that sends it.
    static func reasonsInSources() throws -> [String: String] {
        let sources = root.appendingPathComponent("Sources")
        let literal = try Regex(#"reason: "([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)""#)
        let frameReason = try Regex(#"case [^:]+: "([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)""#)
        var found: [String: String] = [:]
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        for case let file as URL in files where file.pathExtension == "swift" && !file.path.contains("/Generated/") {
            let text = try String(contentsOf: file, encoding: .utf8)
            let patterns = file.lastPathComponent == "FrameDecodingError.swift" ? [literal, frameReason] : [literal]
            for pattern in patterns {
                for match in text.matches(of: pattern) {
                    if let reason = match.output[1].substring { found[String(reason)] = file.lastPathComponent }
                }
            }
        }
        return found
    }

    @Test("every reason a server or client sends is in the spec")
    func everyReasonDocumented() throws {
        let spec = try String(contentsOf: Self.root.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        let reasons = try Self.reasonsInSources()
        #expect(reasons.count > 60, "the scan found the reasons: \(reasons.count)")
        #expect(reasons["BAD_PREFACE"] != nil && reasons["STALE_VERSION"] != nil)
        for (reason, file) in reasons.sorted(by: { $0.key < $1.key }) where !spec.contains("`\(reason)`") {
            Issue.record("\(reason) (sent from \(file)) is not in docs/PROTOCOL.md")
        }
    }
}
