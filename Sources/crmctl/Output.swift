internal import Foundation
internal import SwiftProtobuf
internal import WireProtocol

#if canImport(Glibc)
internal import Glibc
#endif

/// What crmctl writes on stdout, and how it ends.
///
/// stdout may be a pipe whose reader stops early (`crmctl call System.EchoStream ... | head -2`):
/// SIGPIPE is ignored and a write that finds the reader gone ends crmctl quietly with status 0,
/// since whoever reads has all it wanted.
enum Output {
    /// JSON lines as they come, or each answer indented over several lines (`--pretty`).
    nonisolated(unsafe) static var pretty = false

    static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Writes `text` and a newline to stdout at once (progress shows when stdout is a pipe).
    static func line(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                FileHandle.standardError.write(Data("crmctl: cannot write the output: \(String(cString: strerror(errno)))\n".utf8))
                exit(1)
            }
            written += count
        }
    }

    /// One message in protobuf's JSON mapping: one line, or indented with `--pretty`.
    static func message(_ message: any SwiftProtobuf.Message) throws {
        let json = try message.jsonString()
        guard pretty, let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
            let indented = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return line(json) }
        line(String(decoding: indented, as: UTF8.self))
    }
}

/// crmctl's exit statuses: 0 done, 1 a local failure without an RPC code, 3 an import with
/// rejected rows, 64 a bad command line (a missing TLS file included), and for an RPC error
/// 10 plus its code (INVALID_ARGUMENT 13, NOT_FOUND 15, ALREADY_EXISTS 16, PERMISSION_DENIED 17,
/// RESOURCE_EXHAUSTED 18, FAILED_PRECONDITION 19, ABORTED 20, UNAVAILABLE 24, UNAUTHENTICATED 26, ...).
enum ExitStatus {
    static let rejectedRows: Int32 = 3

    /// Codes past 16 (none today) share 99.
    static func forError(_ code: ErrorCode) -> Int32 { code.rawValue <= 16 ? 10 + Int32(code.rawValue) : 99 }
}
