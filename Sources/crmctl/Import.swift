internal import ArgumentParser
internal import CRMClient
internal import Foundation
internal import SwiftProtobuf
internal import WireProtocol
internal import CRMAPI

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bulk imports from the systems being migrated.", subcommands: [Customers.self])

    struct Customers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a customer file (CSV with a header row, or JSON lines) through Customer.ImportCustomers.",
            discussion: """
                Every row is validated and checked for duplicates by CustomerService; a bad row rejects only itself. \
                Rejected rows, with their line and reasons (by the CSV file's columns), go to the report file as JSON \
                lines; rows created with a possible duplicate go to the duplicates report. Importing the same file \
                again changes nothing; --dry-run says what the import would do and changes nothing. On a terminal it \
                shows its progress on stderr. It always prints a JSON summary; exits 0 when every row was imported or \
                unchanged, 3 when some were rejected, 10 plus the code on an RPC error (docs/OPERATIONS.md). CSV \
                columns: \(CustomerImportFile.columns.joined(separator: ", ")).
                """)

        @OptionGroup var connection: ConnectionOptions

        @Argument(help: "The file to import.")
        var file: String

        @Option(help: "The system the file comes from (letters, digits, - and _), e.g. legacy-cards.")
        var source: String

        @Option(help: "csv or jsonl; default from the file's extension.")
        var format: String?

        @Option(help: "Rows per call (1 to 500), each call one transaction.")
        var batch = 200

        @Option(help: "Where to write the rejected rows (JSON lines); default FILE.rejected.jsonl.")
        var report: String?

        @Option(help: "Where to write the rows created with a possible duplicate (JSON lines); default FILE.duplicates.jsonl.")
        var duplicatesReport: String?

        @Option(help: "Reject rows with a likely duplicate scoring at least this much (1 to 100); default: import and report them.")
        var rejectDuplicatesFromScore: UInt32 = 0

        @Flag(help: "Check every row as the import would and report the outcome, changing nothing.")
        var dryRun = false

        func validate() throws {
            guard (1...500).contains(batch) else { throw ValidationError("--batch must be 1 to 500") }
            guard rejectDuplicatesFromScore <= 100 else { throw ValidationError("--reject-duplicates-from-score must be 0 to 100") }
        }

        func run() async throws {
            let fileFormat: CustomerImportFile.Format
            if let format {
                guard let chosen = CustomerImportFile.Format(rawValue: format) else { throw ValidationError("--format must be csv or jsonl") }
                fileFormat = chosen
            } else {
                fileFormat = file.lowercased().hasSuffix(".csv") ? .csv : .jsonl
            }
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            let entries: [CustomerImportFile.Entry]
            do {
                entries = try CustomerImportFile.entries(Array(data), format: fileFormat)
            } catch {
                throw ValidationError("\(file): \(error.description)")
            }
            let rejectedReport = try ReportFile(report ?? file + ".rejected.jsonl")
            let duplicateReport = try ReportFile(duplicatesReport ?? file + ".duplicates.jsonl")
            let inColumns = fileFormat == .csv
            func rejected(_ result: Crm_Customer_V1_ImportRowResult, _ row: Crm_Customer_V1_ImportRow?) throws {
                var result = result
                if inColumns, let row { result.problems = result.problems.map { CustomerImportFile.inColumns($0, row: row) } }
                try rejectedReport.write(result)
            }

            var summary = Summary(rows: entries.count, dryRun: dryRun, report: rejectedReport.path, duplicatesReport: duplicateReport.path)
            var rows: [Crm_Customer_V1_ImportRow] = []
            for entry in entries {
                switch entry {
                case .row(let row): rows.append(row)
                case .unreadable(let line, let sourceID, let problem):
                    var result = Crm_Customer_V1_ImportRowResult()
                    result.line = line
                    result.sourceID = sourceID
                    result.outcome = .rejected
                    result.reason = "UNREADABLE"
                    result.problems = [problem]
                    try rejected(result, nil)
                    summary.rejected += 1
                }
            }
            let progress = Progress(total: entries.count, done: summary.rejected)
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                for start in stride(from: 0, to: rows.count, by: batch) {
                    var request = Crm_Customer_V1_ImportCustomersRequest()
                    request.sourceSystem = source
                    let batchRows = Array(rows[start..<min(rows.count, start + batch)])
                    request.rows = batchRows
                    request.rejectDuplicatesFromScore = rejectDuplicatesFromScore
                    request.dryRun = dryRun
                    let response = try await client.call(CustomerMethods.importCustomers, request, timeout: connection.timeoutAmount)
                    summary.created += Int(response.created)
                    summary.unchanged += Int(response.unchanged)
                    summary.rejected += Int(response.rejected)
                    for (result, row) in zip(response.results, batchRows) {
                        if result.outcome == .rejected { try rejected(result, row) }
                        if result.outcome == .created && !result.possibleDuplicates.isEmpty {
                            summary.possibleDuplicates += 1
                            try duplicateReport.write(result)
                        }
                    }
                    progress.advance(by: batchRows.count)
                }
                progress.finish()
                await client.close()
            } catch {
                // What was done before the error still counts: the summary first, then the error.
                progress.finish()
                summary.print()
                failAndExit(error)
            }
            summary.print()
            if summary.rejected > 0 { throw ExitCode(ExitStatus.rejectedRows) }
        }
    }

    /// What an import did (or, in a dry run, would do), printed as one JSON line.
    struct Summary {
        var rows: Int
        var dryRun: Bool
        var report: String
        var duplicatesReport: String
        var created = 0
        var unchanged = 0
        var rejected = 0
        var possibleDuplicates = 0

        func print() {
            let object: [String: Any] = [
                "rows": rows, "created": created, "unchanged": unchanged, "rejected": rejected, "dryRun": dryRun,
                "createdWithPossibleDuplicates": possibleDuplicates, "report": report, "duplicatesReport": duplicatesReport,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            Output.line(String(decoding: data, as: UTF8.self))
        }
    }

    /// A report of rows as JSON lines, made empty when the import starts.
    final class ReportFile {
        let path: String
        private let handle: FileHandle

        init(_ path: String) throws {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw ValidationError("cannot write the report \(path)")
            }
            self.path = path
            self.handle = handle
        }

        deinit { try? handle.close() }

        func write(_ result: Crm_Customer_V1_ImportRowResult) throws {
            try handle.write(contentsOf: Data((try result.jsonString() + "\n").utf8))
        }
    }

    /// Rows done of the total and rows a second, redrawn on stderr when it is a terminal (at most
    /// every 200 ms), nothing otherwise.
    final class Progress {
        private let total: Int
        private var done: Int
        private let started = ContinuousClock.now
        private var drawn = ContinuousClock.now - .seconds(1)
        private let onTerminal = isatty(STDERR_FILENO) == 1

        init(total: Int, done: Int) {
            self.total = total
            self.done = done
        }

        func advance(by rows: Int) {
            done += rows
            guard onTerminal, ContinuousClock.now - drawn >= .milliseconds(200) || done == total else { return }
            drawn = ContinuousClock.now
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            let rate = seconds > 0 ? Int(Double(done) / seconds) : 0
            FileHandle.standardError.write(Data("\r\(done)/\(total) rows, \(rate) rows/s   ".utf8))
        }

        func finish() {
            if onTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}
