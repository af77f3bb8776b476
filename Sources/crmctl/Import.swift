internal import ArgumentParser
internal import CRMClient
internal import Foundation
internal import SwiftProtobuf
internal import WireProtocol

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bulk imports from the systems being migrated.", subcommands: [Customers.self])

    struct Customers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a customer file (CSV with a header row, or JSON lines) through Customer.ImportCustomers.",
            discussion: """
                Every row is validated and checked for duplicates by CustomerService; rejected rows, with their line and \
                reasons, go to the report file as JSON lines. Importing the same file again changes nothing. \
                Prints a JSON summary; exits 0 when every row was imported or unchanged, 3 when some were rejected, \
                1 on an error. CSV columns: \(CustomerImportFile.columns.joined(separator: ", ")) (docs/OPERATIONS.md).
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

        @Option(help: "Reject rows with a likely duplicate scoring at least this much (1 to 100); default: import and report them.")
        var rejectDuplicatesFromScore: UInt32 = 0

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
            let reportPath = report ?? file + ".rejected.jsonl"
            guard FileManager.default.createFile(atPath: reportPath, contents: nil), let reportFile = FileHandle(forWritingAtPath: reportPath) else {
                throw ValidationError("cannot write the report \(reportPath)")
            }
            defer { try? reportFile.close() }
            func reject(_ result: Crm_Customer_V1_ImportRowResult) throws {
                reportFile.write(Data((try result.jsonString() + "\n").utf8))
            }

            var totals = (rows: entries.count, created: 0, unchanged: 0, rejected: 0, possibleDuplicates: 0)
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
                    try reject(result)
                    totals.rejected += 1
                }
            }
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                for start in stride(from: 0, to: rows.count, by: batch) {
                    var request = Crm_Customer_V1_ImportCustomersRequest()
                    request.sourceSystem = source
                    request.rows = Array(rows[start..<min(rows.count, start + batch)])
                    request.rejectDuplicatesFromScore = rejectDuplicatesFromScore
                    let response = try await client.call(CustomerMethods.importCustomers, request, timeout: connection.timeoutAmount)
                    totals.created += Int(response.created)
                    totals.unchanged += Int(response.unchanged)
                    totals.rejected += Int(response.rejected)
                    for result in response.results {
                        if result.outcome == .rejected { try reject(result) }
                        if result.outcome == .created && !result.possibleDuplicates.isEmpty { totals.possibleDuplicates += 1 }
                    }
                }
                await client.close()
            } catch {
                failAndExit(error)
            }
            let summary: [String: Any] = [
                "rows": totals.rows, "created": totals.created, "unchanged": totals.unchanged, "rejected": totals.rejected,
                "createdWithPossibleDuplicates": totals.possibleDuplicates, "report": reportPath,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
            if totals.rejected > 0 { throw ExitCode(3) }
        }
    }
}
