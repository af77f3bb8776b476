public import Foundation

/// A folder of its own under the system's temporary directory, removed when the test lets go of it.
public final class TemporaryFolder: Sendable {
    public let url: URL

    /// - Parameter prefix: names the folder after the test, e.g. `crm-admin`.
    public init(_ prefix: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
