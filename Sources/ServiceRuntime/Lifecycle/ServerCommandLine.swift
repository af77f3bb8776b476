internal import ArgumentParser
internal import Foundation

/// A server's command line, the same for the four: `--config FILE`, `--check-config`, `--version`
/// and `--help`.
struct ServerCommandLine: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: URL(fileURLWithPath: CommandLine.arguments.first ?? "crm-server").lastPathComponent,
            abstract: "A CRM server: reads its configuration, checks it, opens its database and listens until SIGTERM.",
            discussion: """
                Settings come from the --config file and CRM_ environment variables (docs/OPERATIONS.md). \
                Exit status: 0 after a drain or a passed --check-config, 64 for a bad command line, \
                78 for a configuration error, 1 for any other start error (a port in use).
                """)
    }

    @Option(help: "The JSON configuration file (CRM_ environment variables override its values).")
    var config: String?

    @Flag(help: "Read the configuration and check what it points at (certificates, keys, the data folder, free ports), print the outcome, and exit: 0 when the server would start, 78 when the configuration is wrong, 1 otherwise.")
    var checkConfig = false

    @Flag(help: "Print the version and exit.")
    var version = false
}

/// What a server's main asks of the launcher before it runs.
public struct ServerStart: Sendable {
    /// The configuration file given by `--config`, if any.
    public var configFile: String?
    /// Whether `--check-config` asks to check and exit.
    public var checkOnly: Bool

    /// Parses the arguments: `--version` and `--help` print and exit 0, anything unknown prints
    /// the usage and exits 64 (EX_USAGE).
    public static func parse(name: String, _ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> ServerStart {
        do {
            let options = try ServerCommandLine.parse(arguments)
            if options.version {
                print("\(name) \(BuildVersion.current)")
                exit(0)
            }
            return ServerStart(configFile: options.config, checkOnly: options.checkConfig)
        } catch {
            if ServerCommandLine.exitCode(for: error) == .success {
                print(ServerCommandLine.helpMessage())
                exit(0)
            }
            FileHandle.standardError.write(Data("\(name): \(ServerCommandLine.fullMessage(for: error))\n".utf8))
            exit(64)
        }
    }
}
