import Foundation
import TestSupport
import Testing

/// scripts/install.sh into a scratch root, as a package build would run it.
@Suite("Host install script")
struct InstallScriptTests {
    static let repository = Executables.folder.deletingLastPathComponent().deletingLastPathComponent()

    func install(into root: String) throws -> (Int32, String) {
        let (process, output) = try ChildProcess.withCombinedOutput(
            executable: Self.repository.appendingPathComponent("scripts/install.sh").path,
            arguments: ["--from", Executables.folder.path, "--root", root], environment: ProcessInfo.processInfo.environment)
        var text = [UInt8]()
        ChildProcess.drain(output) { text += $0 }
        return (process.waitUntilExit(), String(decoding: text, as: UTF8.self))
    }

    @Test("installs the binaries, units, example configurations and a private TLS folder; a second run keeps edited configuration")
    func installs() throws {
        let temporary = try TemporaryFolder("crm-install")
        let root = temporary.path("root")
        let (status, output) = try install(into: root)
        #expect(status == 0, "\(output)")
        let files = FileManager.default
        for server in ["crm-customer", "crm-marketing", "crm-servicedesk", "crm-gateway"] {
            #expect(files.isExecutableFile(atPath: "\(root)/usr/local/bin/\(server)"))
            #expect(files.fileExists(atPath: "\(root)/etc/systemd/system/\(server).service"))
        }
        #expect(files.isExecutableFile(atPath: "\(root)/usr/local/bin/crmctl"))
        #expect(files.isExecutableFile(atPath: "\(root)/usr/local/bin/crm-admin"))
        #expect(files.fileExists(atPath: "\(root)/usr/local/share/doc/crm/OPERATIONS.md"))
        let tls = try files.attributesOfItem(atPath: "\(root)/etc/crm/tls")[.posixPermissions] as? Int
        #expect(tls == 0o750)

        try Data(#"{"listen": {"port": 7999}}"#.utf8).write(to: URL(fileURLWithPath: "\(root)/etc/crm/customer.json"))
        let (again, secondOutput) = try install(into: root)
        #expect(again == 0)
        #expect(secondOutput.contains("kept \(root)/etc/crm/customer.json"))
        #expect(try String(contentsOfFile: "\(root)/etc/crm/customer.json", encoding: .utf8).contains("7999"))
    }
}
