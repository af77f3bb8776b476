internal import ArgumentParser
internal import CRMClient
internal import Foundation
internal import NIOCore
internal import RPCTransport
internal import CRMAPI
internal import SwiftProtobuf
internal import WireProtocol

/// `crmctl`: call any method of the CRM from the shell, with protobuf's JSON mapping, and print JSON.
@main
struct CRMCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Call the CRM over its wire protocol and print JSON.",
        discussion: """
            The target and TLS files come from flags or CRM_ADDRESS, CRM_TLS_CERT, CRM_TLS_KEY, CRM_TLS_CA. \
            On an error crmctl prints the error as JSON on stdout, its code and message on stderr. \
            Exit status: 0 done; 10 plus the error's code for an RPC error (13 INVALID_ARGUMENT, \
            14 DEADLINE_EXCEEDED, 15 NOT_FOUND, 16 ALREADY_EXISTS, 17 PERMISSION_DENIED, \
            18 RESOURCE_EXHAUSTED, 19 FAILED_PRECONDITION, 20 ABORTED, 23 INTERNAL, 24 UNAVAILABLE, \
            26 UNAUTHENTICATED, and so on); 3 an import with rejected rows; 64 a bad command line \
            (a TLS file that cannot be read included); 1 anything else.
            """,
        subcommands: [Call.self, List.self, Describe.self, Health.self, Audit.self, Duplicates.self, Import.self, Feeds.self, Marketing.self])

    /// ArgumentParser's entry, once SIGPIPE is ignored: a reader that stops early ends crmctl
    /// quietly (``Output``) instead of by a signal.
    static func main() async {
        Output.ignoreBrokenPipes()
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

struct ConnectionOptions: ParsableArguments {
    @Option(help: "host:port of the gateway or a server (env CRM_ADDRESS; default 127.0.0.1:7443).")
    var address: String?

    @Option(name: .customLong("tls-cert"), help: "Client certificate PEM (env CRM_TLS_CERT).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "Client private key PEM (env CRM_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .customLong("tls-ca"), help: "CA certificate PEM the server must chain to (env CRM_TLS_CA).")
    var tlsCA: String?

    @Option(help: "Seconds to wait for the answer (default 10); for a stream, how long to read it (default: until it ends).")
    var timeout: Double?

    @Option(name: [.customShort("H"), .customLong("header")], help: ArgumentHelp(
        "Metadata to send, NAME=VALUE: traceparent, tracestate, end-user, idempotency-key, initial-credit (repeatable).",
        valueName: "name=value"))
    var headers: [String] = []

    @Flag(help: "Indent each JSON answer over several lines (keys sorted).")
    var pretty = false

    /// The target, with its TLS files checked: a file that cannot be read or loaded is named,
    /// not reported as a connection that failed.
    func target() throws -> ClientTarget {
        Output.pretty = pretty
        let target: ClientTarget
        do {
            target = try ClientTarget(
                flagsAddress: address, certificate: tlsCertificate, key: tlsKey, ca: tlsCA, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.message)
        }
        if let tls = target.tls {
            do {
                try StartChecks.tls(tls, keys: "tls", server: false)
            } catch {
                let flags = ["tls.certificate": "--tls-cert", "tls.key": "--tls-key", "tls.ca": "--tls-ca"]
                throw ValidationError("\(error.key.flatMap { flags[$0] } ?? "TLS"): \(error.message)")
            }
        }
        return target
    }

    var timeoutAmount: TimeAmount { .nanoseconds(Int64((timeout ?? 10) * 1e9)) }

    /// The `-H` metadata, over `base`.
    func metadata(over base: Metadata = Metadata()) throws -> Metadata {
        var metadata = base
        for header in headers {
            guard let equals = header.firstIndex(of: "=") else { throw ValidationError("-H \(header): write NAME=VALUE") }
            let name = header[..<equals].lowercased()
            let value = String(header[header.index(after: equals)...])
            switch name {
            case "traceparent": metadata.traceparent = value
            case "tracestate": metadata.tracestate = value
            case "end-user", "end_user": metadata.endUser = value
            case "idempotency-key", "idempotency_key": metadata.idempotencyKey = value
            case "initial-credit", "initial_credit":
                guard let credit = UInt32(value), credit > 0 else { throw ValidationError("-H initial-credit: \(value) is not a positive integer") }
                metadata.initialCredit = credit
            default:
                throw ValidationError("-H \(name): not metadata a caller may send (traceparent, tracestate, end-user, idempotency-key, initial-credit)")
            }
        }
        return metadata
    }
}

/// Prints `error` the documented way and exits with its status (``ExitStatus``).
func failAndExit(_ error: any Error) -> Never {
    let rpcError = (error as? RPCError)
        ?? RPCError(code: .unavailable, message: "\(error)", reason: .clientError, processing: .notProcessed)
    var options = JSONEncodingOptions()
    options.alwaysPrintEnumsAsInts = false
    let json = (try? rpcError.status.jsonString(options: options)) ?? "{}"
    Output.line("{\"error\": \(json)}")
    FileHandle.standardError.write(Data("crmctl: \(rpcError)\n".utf8))
    Foundation.exit(error is RPCError ? ExitStatus.forError(rpcError.code) : 1)
}

/// One JSON answer, written at once so that progress shows when stdout is a pipe or a file.
func printJSON(_ message: any SwiftProtobuf.Message) throws {
    try Output.message(message)
}

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a method: crmctl call Service.Method '{\"json\": \"request\"}'. Streams print one JSON line per item.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The method, e.g. System.Echo (see crmctl list).", completion: .list(MethodRegistry.all.map(\.name)))
    var method: String

    @Argument(help: "The request in protobuf's JSON mapping (default {}); - reads it from stdin, @FILE from a file.")
    var request: String = "{}"

    @Option(name: .customLong("idempotency-key"), help: "Idempotency key for a safe retry of a mutating call.")
    var idempotencyKey: String?

    func run() async throws {
        guard let info = MethodRegistry.method(named: method) else {
            throw ValidationError("no method \(method); crmctl list shows them all")
        }
        let message: any SwiftProtobuf.Message
        let json = try Self.requestText(request)
        do {
            message = try info.requestType.init(jsonString: json)
        } catch {
            failAndExit(RPCError(
                code: .invalidArgument, message: "the request is not a valid \(info.requestType.protoMessageName) in JSON: \(error)",
                reason: .invalidJson, processing: .notProcessed))
        }
        let target = try connection.target()
        let client = RPCClient(configuration: target.rpcConfiguration)
        var metadata = try connection.metadata(over: Metadata(idempotencyKey: idempotencyKey))
        do {
            let payload = try message.encodedPayload()
            switch info.kind {
            case .unary:
                let answer = try await client.call(method: info.id, payload: payload, metadata: metadata, timeout: connection.timeoutAmount)
                try printJSON(try info.responseType.init(payload: answer))
            case .serverStream:
                // A stream is read until it ends, or for --timeout seconds: the server is told the
                // deadline too, and ends the stream with DEADLINE_EXCEEDED when it passes.
                if let seconds = connection.timeout { metadata.timeoutMilliseconds = UInt32(min(max(seconds * 1000, 1), Double(UInt32.max))) }
                let connectionToServer = try await client.connection()
                try await Self.withDeadline(connection.timeout) { [metadata] in
                    try await streamItems(connectionToServer, info: info, payload: payload, metadata: metadata, itemType: info.responseType)
                }
            }
        } catch {
            failAndExit(error)
        }
        await client.close()
    }

    /// The request's JSON: the argument itself, stdin for `-`, a file's content for `@FILE`.
    static func requestText(_ argument: String) throws -> String {
        if argument == "-" {
            return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read the request file \(path)")
            }
            return String(decoding: data, as: UTF8.self)
        }
        return argument
    }

    /// Runs `body`, and fails it with DEADLINE_EXCEEDED once `seconds` have passed (nil: no limit).
    static func withDeadline(_ seconds: Double?, _ body: @escaping @Sendable () async throws -> Void) async throws {
        guard let seconds else { return try await body() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw RPCError(code: .deadlineExceeded, message: "--timeout \(seconds) s passed", reason: .deadlineExceeded, processing: .maybeProcessed)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func streamItems<Item: SwiftProtobuf.Message>(
        _ connection: RPCConnection, info: MethodInfo, payload: ByteBuffer, metadata: Metadata, itemType: Item.Type
    ) async throws {
        let descriptor = MethodDescriptor<RawMessage, Item>(
            service: info.id.service, method: info.id.method, name: info.name, kind: .serverStream, isIdempotent: info.isIdempotent, access: info.access)
        for try await item in try connection.serverStream(descriptor, RawMessage(bytes: payload), metadata: metadata) {
            try printJSON(item)
        }
    }
}

/// Carries already-encoded request bytes through the typed streaming API.
struct RawMessage: SwiftProtobuf.Message, Sendable {
    static let protoMessageName = "crmctl.RawMessage"
    var bytes = ByteBuffer()
    var unknownFields = SwiftProtobuf.UnknownStorage()

    init() {}
    init(bytes: ByteBuffer) { self.bytes = bytes }

    mutating func decodeMessage<D: SwiftProtobuf.Decoder>(decoder: inout D) throws {
        while try decoder.nextFieldNumber() != nil {}
    }

    func traverse<V: SwiftProtobuf.Visitor>(visitor: inout V) throws {
        // Re-emit the original bytes as unknown fields: the serialized form is exactly `bytes`.
        try visitor.visitUnknown(bytes: Data(bytes.readableBytesView))
    }

    var isInitialized: Bool { true }
    func isEqualTo(message: any SwiftProtobuf.Message) -> Bool {
        (message as? RawMessage)?.bytes == bytes
    }
    static func == (lhs: RawMessage, rhs: RawMessage) -> Bool { lhs.bytes == rhs.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every method: name, ids, kind, idempotency, types.")

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func run() async throws {
        let width = MethodRegistry.all.map(\.name.count).max() ?? 0
        for info in MethodRegistry.all.sorted(by: { $0.id < $1.id }) {
            if json {
                print(
                    "{\"method\": \"\(info.name)\", \"service\": \(info.id.service), \"id\": \(info.id.method), \"kind\": \"\(info.kind.rawValue)\", \"idempotent\": \(info.isIdempotent), \"request\": \"\(info.requestType.protoMessageName)\", \"response\": \"\(info.responseType.protoMessageName)\"}")
            } else {
                let name = info.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let ids = "\(info.id)".padding(toLength: 7, withPad: " ", startingAt: 0)
                let kind = info.kind.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
                print("\(name) \(ids) \(kind) \(info.isIdempotent ? "idempotent" : "          ")  \(info.requestType.protoMessageName) -> \(info.responseType.protoMessageName)")
            }
        }
    }
}

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a method: its ids, kind, idempotency, and every field of its request and response.")

    @Argument(
        help: "A method (System.Echo), or a message or enum by its full name (crm.customer.v1.CustomerProfile).",
        completion: .list(MethodRegistry.all.map(\.name)))
    var name: String

    @Option(help: "How many levels of nested messages to expand (0 names their types only).")
    var depth: Int = 3

    func run() async throws {
        guard (0...16).contains(depth) else { throw ValidationError("--depth must be 0 to 16") }
        let object: [String: Any]
        if let info = MethodRegistry.method(named: name) {
            object = [
                "method": info.name, "service": Int(info.id.service), "id": Int(info.id.method), "kind": info.kind.rawValue,
                "idempotent": info.isIdempotent,
                "request": Self.describe(info.requestType.protoMessageName, depth: depth),
                "response": Self.describe(info.responseType.protoMessageName, depth: depth),
            ]
        } else if ProtoDescriptors.message(named: name) != nil {
            object = Self.describe(name, depth: depth)
        } else if let values = Self.enumValues(name) {
            object = ["enum": name, "values": values]
        } else {
            throw ValidationError("no method, message or enum \(name); crmctl list shows the methods")
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        Output.line(String(decoding: data, as: UTF8.self))
    }

    /// A message's fields; message fields expanded `depth` levels down (a message already being
    /// expanded above is only named, so a recursive type ends), enum fields with their values.
    static func describe(_ fullName: String, depth: Int, expanding: Set<String> = []) -> [String: Any] {
        guard let (message, comment) = ProtoDescriptors.message(named: fullName) else { return ["type": fullName] }
        let fields: [[String: Any]] = message.field.map { field in
            let typeName = String(field.typeName.drop { $0 == "." })
            var described: [String: Any] = [
                "name": field.jsonName, "number": Int(field.number),
                "type": field.typeName.isEmpty ? Self.typeName(field.type) : typeName,
                "repeated": field.label == .repeated,
            ]
            if field.type == .enum, let values = enumValues(typeName) {
                described["values"] = values
            } else if field.type == .message, depth > 0, !expanding.contains(typeName), ProtoDescriptors.message(named: typeName) != nil {
                described["message"] = describe(typeName, depth: depth - 1, expanding: expanding.union([fullName]))
            }
            return described
        }
        return ["type": fullName, "comment": comment, "fields": fields]
    }

    /// An enum's value names, in number order, or nil if `fullName` is no enum of Protos/.
    static func enumValues(_ fullName: String) -> [String]? {
        for file in ProtoDescriptors.files {
            let prefix = file.package.isEmpty ? "" : file.package + "."
            if let found = file.enumType.first(where: { prefix + $0.name == fullName }) { return found.value.map(\.name) }
            for message in file.messageType {
                if let found = message.enumType.first(where: { prefix + message.name + "." + $0.name == fullName }) {
                    return found.value.map(\.name)
                }
            }
        }
        return nil
    }

    static func typeName(_ type: Google_Protobuf_FieldDescriptorProto.TypeEnum) -> String {
        switch type {
        case .double: "double"
        case .float: "float"
        case .int64: "int64"
        case .uint64: "uint64"
        case .int32: "int32"
        case .fixed64: "fixed64"
        case .fixed32: "fixed32"
        case .bool: "bool"
        case .string: "string"
        case .bytes: "bytes (base64 in JSON)"
        case .uint32: "uint32"
        case .sfixed32: "sfixed32"
        case .sfixed64: "sfixed64"
        case .sint32: "sint32"
        case .sint64: "sint64"
        default: "\(type)"
        }
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ask the target whether it is serving.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let client = CRMClient(configuration: try connection.target().rpcConfiguration)
        do {
            let health = try await client.health(timeout: connection.timeoutAmount)
            try printJSON(health)
            await client.close()
            if health.status != .serving { Foundation.exit(1) }
        } catch {
            failAndExit(error)
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Audit log checks.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk CustomerService's hash-chained audit logs (changes, then reads); exit 1 and name the first broken row if one was tampered with.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                let result = try await client.customer.verifyAudit(timeout: connection.timeoutAmount)
                try printJSON(result)
                await client.close()
                if !result.intact {
                    FileHandle.standardError.write(
                        Data("crmctl: audit log (\(result.brokenLog)) broken at sequence \(result.firstBrokenSequence): \(result.problem)\n".utf8))
                    Foundation.exit(1)
                }
            } catch {
                failAndExit(error)
            }
        }
    }
}

struct Duplicates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The batch duplicate job. List and dismiss pairs with crmctl call Customer.ListDuplicatePairs / Customer.DismissDuplicatePair.",
        subcommands: [Scan.self])

    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every live customer for duplicates, slice by slice (Customer.FindDuplicates), printing one JSON line per slice.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "Customers per slice (1 to 5000).")
        var slice: UInt32 = 1_000

        @Option(help: "Start after this customer id (to resume a scan).")
        var after = ""

        @Option(help: "Store pairs scoring at least this (1 to 100; 0: the service's default, 50).")
        var minScore: UInt32 = 0

        func run() async throws {
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                var request = Crm_Customer_V1_FindDuplicatesRequest()
                request.afterID = after
                request.limit = slice
                request.minScore = minScore
                repeat {
                    let result = try await client.call(CustomerMethods.findDuplicates, request, timeout: connection.timeoutAmount)
                    try printJSON(result)
                    request.afterID = result.nextAfterID
                } while !request.afterID.isEmpty
                await client.close()
            } catch {
                failAndExit(error)
            }
        }
    }
}

struct Feeds: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change feeds (a copy into a local file: crm-admin feed-copy).", subcommands: [Status.self, DeadLetters.self, Retry.self])

    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dead-letters",
            abstract: "The events a consuming server could not apply (Feed.ListDeadLetters, every page): one JSON line per letter, with its error and attempts.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "Only this producer's letters (e.g. customer).")
        var producer = ""

        @Flag(help: "Also the ones a retry applied.")
        var all = false

        func run() async throws {
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                var request = Crm_Feed_V1_ListDeadLettersRequest()
                (request.producer, request.includeResolved, request.pageSize) = (producer, all, 500)
                while true {
                    let page = try await client.call(FeedMethods.listDeadLetters, request, timeout: connection.timeoutAmount)
                    for letter in page.letters { try printJSON(letter) }
                    guard page.letters.count == Int(request.pageSize), let last = page.letters.last else { break }
                    request.afterLetterID = last.letterID
                }
                await client.close()
            } catch {
                failAndExit(error)
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a producer's open dead letters again, oldest first (Feed.RetryDeadLetters); prints how many applied and how many stay open.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The producer whose letters to retry (e.g. customer).")
        var producer: String

        @Option(help: "Only this entity's letters (e.g. C0000000042).")
        var entity = ""

        func run() async throws {
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                var request = Crm_Feed_V1_RetryDeadLettersRequest()
                (request.producer, request.entityKey) = (producer, entity)
                try printJSON(try await client.call(FeedMethods.retryDeadLetters, request, timeout: connection.timeoutAmount))
                await client.close()
            } catch {
                failAndExit(error)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A server's change log (epoch, first and last sequence) and each consumer's acknowledged sequence and lag in events and milliseconds (Feed.Status).")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = CRMClient(configuration: try connection.target().rpcConfiguration)
            do {
                try printJSON(try await client.call(FeedMethods.status, Crm_Feed_V1_StatusRequest(), timeout: connection.timeoutAmount))
                await client.close()
            } catch {
                failAndExit(error)
            }
        }
    }
}

struct Marketing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Marketing.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A scheduled or active campaign's target list (Marketing.ExportTargetList) for a channel system, as CSV or JSON lines on stdout.")

        @OptionGroup var connection: ConnectionOptions

        @Option(help: "The campaign, e.g. M0000000001.")
        var campaign: String

        @Option(help: "csv (with a header line) or jsonl.")
        var format = "csv"

        func validate() throws {
            guard format == "csv" || format == "jsonl" else { throw ValidationError("--format must be csv or jsonl") }
        }

        func run() async throws {
            let client = RPCClient(configuration: try connection.target().rpcConfiguration)
            do {
                var request = Crm_Marketing_V1_ExportTargetListRequest()
                request.campaignID = campaign
                let stream = try await client.connection().serverStream(MarketingMethods.exportTargetList, request)
                if format == "csv" { Output.line("campaign_id,customer_id,channel,relationship_manager_id,branch_id") }
                for try await entry in stream {
                    if format == "csv" {
                        let fields = [entry.campaignID, entry.customerID, entry.channel, entry.relationshipManagerID, entry.branchID].map(Self.csvField)
                        Output.line(fields.joined(separator: ","))
                    } else {
                        try printJSON(entry)
                    }
                }
                await client.close()
            } catch {
                failAndExit(error)
            }
        }

        /// RFC 4180: quoted when it holds a comma, a quote or a line break, quotes doubled.
        static func csvField(_ value: String) -> String {
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }
}
