import Foundation
import Testing

/// Until their issues land, the server and tool executables must refuse to run rather than pretend
/// to work: each exits with status 2 and says which issue builds it. As each issue lands, its
/// executable leaves this list and gets real tests.
@Suite("Executables not built yet")
struct PlaceholderExecutablesTests {
    static let binaries = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug")

    @Test(
        "refuses to run and names its issue",
        arguments: [
            ("crm-marketing", 8),
        ])
    func refuses(name: String, issue: Int) throws {
        let process = Process()
        process.executableURL = Self.binaries.appendingPathComponent(name)
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 2)
        #expect(message.contains("issue \(issue)"))
    }
}
