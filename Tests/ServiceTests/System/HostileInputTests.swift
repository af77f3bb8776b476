import Foundation
import NIOCore
import ServiceRuntime
import SwiftProtobuf
import TestSupport
import Testing
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// Hostile input through the gateway, from a caller holding a valid certificate: each gets a clear
/// error, every process stays up, and nothing is written.
@Suite("System hostile input", .serialized)
struct SystemHostileInputTests {
    @Test("garbage bytes, an oversize frame, invalid protobuf, invalid UTF-8, unknown methods, huge strings and lists, wrong JSON types: clear errors, no process down, no data changed")
    func hostileInput() async throws {
        let system = try await CRMSystem.start()
        let gateway = system.ports[.gateway]!
        let tls = system.pki.clientCertificate("client")

        // Garbage instead of the preface, and a frame header announcing 1 GiB: the connection is closed.
        let garbage = try await RawClient.connect(port: gateway, tls: tls)
        try await garbage.send(Array("GET / HTTP/1.1\r\nHost: crm\r\n\r\n".utf8))
        #expect(await garbage.closedByServer(within: 10))
        let oversize = try await RawClient.connect(port: gateway, tls: tls)
        try await oversize.send(WireFormat.preface + [0x40, 0x00, 0x00, 0x00] + [UInt8](repeating: 0xAB, count: 64))
        #expect(await oversize.closedByServer(within: 10))

        let options = RPCConnection.Options(tls: tls, serverHostname: "localhost", connectTimeout: TestTimeouts.connect)
        let connection = try await RPCConnection.connect(host: "127.0.0.1", port: gateway, options: options)
        func refused(_ payload: [UInt8], method: MethodID = CustomerMethods.create.id) async -> RPCError? {
            do {
                _ = try await connection.call(method: method, payload: ByteBuffer(bytes: payload), timeout: TestTimeouts.call)
                return nil
            } catch {
                return error as? RPCError
            }
        }
        // Not protobuf at all.
        #expect(await refused([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])?.code == .invalidArgument)
        // profile (1) > individual (2) > name_latin (2) holding invalid UTF-8 (0xC3 0x28): hand-encoded,
        // since no encoder writes it. The same bytes with valid UTF-8 decode, so the UTF-8 is what is refused.
        let invalidUTF8: [UInt8] = [0x0A, 0x06, 0x12, 0x04, 0x12, 0x02, 0xC3, 0x28]
        #expect(try Crm_Customer_V1_CreateCustomerRequest(serializedBytes: [0x0A, 0x06, 0x12, 0x04, 0x12, 0x02, 0x41, 0x42]).profile.individual.nameLatin == "AB")
        #expect(await refused(invalidUTF8)?.code == .invalidArgument)
        // Methods that do not exist, in a known service and in an unknown one.
        #expect(await refused([], method: MethodID(service: 2, method: 999))?.code == .unimplemented)
        #expect(await refused([], method: MethodID(service: 77, method: 1)) != nil)
        // A name of 100,000 characters and 10,000 contacts: refused by validation, naming the field.
        var huge = Crm_Customer_V1_CreateCustomerRequest()
        huge.profile.kind = .individual
        huge.profile.individual.nameLatin = String(repeating: "A", count: 100_000)
        let tooLong = await refused(try huge.serializedBytes())
        #expect(tooLong?.code == .invalidArgument)
        #expect(tooLong?.fieldViolations.contains { $0.field.contains("name") } == true, "\(String(describing: tooLong))")
        huge.profile.individual.nameLatin = "Many Contacts"
        huge.profile.contacts = (0..<10_000).map { index in
            var contact = Crm_Customer_V1_Contact()
            contact.kind = .phone
            contact.value = "1380000\(String(format: "%04d", index))"
            return contact
        }
        #expect(await refused(try huge.serializedBytes())?.code == .invalidArgument)

        // Wrong JSON types through crmctl: refused before anything is sent, INVALID_ARGUMENT (exit 13), a clear message.
        let wrongType = try await Executables.run(
            "crmctl",
            ["call", "Customer.Create", #"{"profile": {"kind": 5.5, "individual": "nobody"}}"#, "--address", "127.0.0.1:\(gateway)",
             "--tls-cert", system.pki.path("client.pem"), "--tls-key", system.pki.path("client.key"), "--tls-ca", system.pki.path("ca.pem")])
        #expect(wrongType.status == 13, "INVALID_ARGUMENT")
        #expect(!wrongType.stderr.isEmpty, "\(wrongType.stdout)")

        // Everything still up and answering; nothing was written.
        _ = try await connection.unary(SystemMethods.health, Crm_System_V1_HealthRequest())
        for server in CRMSystem.Server.allCases { #expect(system.process(server)?.process.isRunning == true, "\(server)") }
        #expect(try await FaultTests.count(system, .customer, "SELECT count(*) FROM customer") == 0)
        #expect(try await FaultTests.count(system, .customer, "SELECT count(*) FROM change_log") == 0)
        await connection.close()
        await system.expectCleanShutdown()
    }
}
