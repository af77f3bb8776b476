internal import ArgumentParser
internal import CustomerService
internal import Foundation
internal import NIOCore
internal import ServiceRuntime
internal import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// `crm-bench customer`: the CustomerService reads a bank's other systems make most, against a
/// running crm-customer loaded by `load-customers`: get by id, search by document number, search
/// by phone, the single customer view, and the name searches staff type (Chinese characters,
/// pinyin, initials, a pinyin prefix, a typing slip, a same-sounding character), each on random
/// customers of the loaded range.
struct CustomerBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customer", abstract: "Measure CustomerService reads against a loaded crm-customer.")

    @Option(help: "The crm-customer address.")
    var address = "127.0.0.1:7101"

    @Option(help: "How many customers were loaded (load-customers --count).")
    var count = 100_000

    @Option(help: "Seconds per measurement.")
    var duration = 10.0

    @Option(help: "Comma-separated calls in flight on the one connection.")
    var inFlight = "1,16"

    @Option(help: "Comma-separated operations: get, search-document, search-phone, search-fuzzy, view, \(nameOperations.joined(separator: ", ")) (the durable update is `crm-bench run --workload update`).")
    var operations = "get,search-document,search-phone,view"

    func run() async throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--address must be host:port") }
        let levels = inFlight.split(separator: ",").compactMap { Int($0) }
        let connection = try await RPCConnection.connect(
            host: String(parts[0]), port: port, options: .init(hello: Hello(maxConcurrentStreams: 4096)))
        let count = self.count
        var lines = [
            "CustomerService calls, \(count) customers loaded, one connection, closed loop, \(duration) s per row, random customers",
            "| operation | in flight | req/s | p50 us | p99 us | p99.9 us | max us | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for operation in operations.split(separator: ",").map(String.init) {
            let call = try Self.call(operation, count: count, connection: connection)
            // A short warm-up so that the first row does not pay for cold pages alone.
            _ = try await ClosedLoop.measure(inFlight: 4, duration: 1, call)
            for level in levels {
                let recorder = try await ClosedLoop.measure(inFlight: level, duration: duration, call)
                let line = recorder.markdownRow(operation, inFlight: level)
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lines.append(line)
            }
        }
        await connection.close()
        print(lines.joined(separator: "\n"))
    }

    /// Searches by name as staff type it (`SearchCustomersRequest.name`), each of an individual's
    /// Chinese name 王秀英: `name-zh` 王秀英, `name-pinyin` wangxiuying, `name-initials` wxy,
    /// `name-prefix` wangxiuyin, `name-pinyin-typo` one letter of the pinyin left out,
    /// `name-homophone` the last character replaced by one read the same (王秀鹰).
    static let nameOperations = ["name-zh", "name-pinyin", "name-initials", "name-prefix", "name-pinyin-typo", "name-homophone"]

    /// A character read the same as each given-name character of the synthetic names.
    static let homophones: [Character: Character] = [
        "伟": "卫", "芳": "方", "娜": "那", "敏": "民", "静": "敬", "丽": "力", "强": "墙", "磊": "雷", "军": "君", "洋": "阳",
        "勇": "永", "艳": "燕", "杰": "洁", "涛": "滔", "明": "鸣", "超": "潮", "英": "鹰", "华": "化", "东": "冬", "燕": "艳",
        "涵": "寒", "桐": "同", "然": "燃", "远": "源",
    ]

    /// What `operation` types for a customer named `name`.
    static func typed(_ operation: String, name: String, iteration: Int) -> String {
        let pinyin = Pinyin(of: name)
        switch operation {
        case "name-zh": return name
        case "name-pinyin": return pinyin.full
        case "name-initials": return pinyin.initials
        case "name-prefix": return String(pinyin.full.dropLast())
        case "name-pinyin-typo":
            var letters = Array(pinyin.full)
            letters.remove(at: 1 + iteration % (letters.count - 2))
            return String(letters)
        default:  // name-homophone
            var characters = Array(name)
            characters[characters.count - 1] = homophones[characters[characters.count - 1]] ?? characters[characters.count - 1]
            return String(characters)
        }
    }

    /// The call for one operation, on customer `random(worker, iteration)`; it fails (and counts as
    /// an error) if the answer is not the expected customer.
    static func call(_ operation: String, count: Int, connection: RPCConnection) throws -> @Sendable (Int, Int) async throws -> Void {
        @Sendable func index(_ worker: Int, _ iteration: Int) -> Int { Workload.randomIndex(worker, iteration, count: count) }
        @Sendable func id(_ index: Int) -> String { Workload.customerID(index) }
        struct WrongAnswer: Error {}
        switch operation {
        case "get":
            return { worker, iteration in
                let index = index(worker, iteration)
                var request = Crm_Customer_V1_GetCustomerRequest()
                request.id = id(index)
                guard try await connection.unary(CustomerMethods.get, request).customer.id == request.id else { throw WrongAnswer() }
            }
        case "search-document", "search-phone":
            let byDocument = operation == "search-document"
            return { worker, iteration in
                let index = index(worker, iteration)
                var request = Crm_Customer_V1_SearchCustomersRequest()
                if byDocument {
                    request.documentNumber = SyntheticCustomers.profile(index).documents[0].number
                } else {
                    request.phone = SyntheticCustomers.phone(index)
                }
                request.includeInactive = true
                guard try await connection.unary(CustomerMethods.search, request).customers.first?.id == id(index) else { throw WrongAnswer() }
            }
        case "search-fuzzy":
            // The customer's Latin name with one letter left out; synthetic names repeat (520 of
            // them), so the answer holds the closest of thousands of namesakes, not this customer.
            return { worker, iteration in
                var index = index(worker, iteration)
                if SyntheticCustomers.isCorporate(index) { index = (index + 1) % count }
                var name = Array(SyntheticCustomers.profile(index).individual.nameLatin)
                name.remove(at: 1 + iteration % (name.count - 2))
                var request = Crm_Customer_V1_SearchCustomersRequest()
                request.fuzzyName = String(name)
                guard try await connection.unary(CustomerMethods.search, request).customers.first?.matchScore ?? 0 > 0 else { throw WrongAnswer() }
            }
        case let name where nameOperations.contains(name):
            // Synthetic names repeat (520 of them, each shared by about 1,900 customers): the answer
            // is a page of the best-scored namesakes, which must carry the typed name's score.
            let least: UInt32 = ["name-zh": 100, "name-pinyin": 95, "name-initials": 90, "name-prefix": 80, "name-homophone": 95][operation] ?? 1
            return { worker, iteration in
                var index = index(worker, iteration)
                if SyntheticCustomers.isCorporate(index) { index = (index + 1) % count }
                var request = Crm_Customer_V1_SearchCustomersRequest()
                request.name = typed(operation, name: SyntheticCustomers.profile(index).individual.nameZh, iteration: iteration)
                guard try await connection.unary(CustomerMethods.search, request).customers.first?.matchScore ?? 0 >= least else { throw WrongAnswer() }
            }
        case "view":
            return { worker, iteration in
                let index = index(worker, iteration)
                var request = Crm_Customer_V1_GetCustomerViewRequest()
                request.id = id(index)
                guard try await connection.unary(CustomerMethods.getView, request).view.customer.id == request.id else { throw WrongAnswer() }
            }
        default:
            throw ValidationError("unknown operation \(operation): get, search-document, search-phone, search-fuzzy, view, \(nameOperations.joined(separator: ", "))")
        }
    }
}
