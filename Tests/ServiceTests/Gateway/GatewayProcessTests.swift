import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// crm-gateway as operators run it, in front of a real crm-customer over internal mutual TLS,
/// called by crmctl with client certificates: roles reach the service (masking follows them),
/// SIGHUP reloads the policies, SIGTERM drains.
@Suite("crm-gateway process", .serialized)
struct GatewayProcessTests {
    static var pki: TestPKI { GatewayHarness.pki }

    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("crm-gateway-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    static func gatewayConfig(customerPort: Int, reportingAllows: [String]) -> [String: Any] {
        [
            "listen": ["host": "127.0.0.1", "port": 0],
            "tls": ["certificate": pki.path("server.pem"), "key": pki.path("server.key"), "ca": pki.path("ca.pem"), "crl": pki.path("ca.crl")],
            "backend_tls": [
                "certificate": pki.path("gateway-internal.pem"), "key": pki.path("gateway-internal.key"), "ca": pki.path("internal-ca.pem"),
            ],
            "backends": [["name": "customer", "services": [2, 5], "instances": ["127.0.0.1:\(customerPort)"]]],
            "callers": [
                ["identity": "client", "name": "core-banking", "role": "servicing", "allow": ["Customer.*"]],
                ["identity": "reporting.bank.internal", "name": "reporting", "role": "reporting", "allow": reportingAllows],
            ],
        ]
    }

    func crmctl(_ arguments: [String], as certificate: String, port: Int) async throws -> Executables.Output {
        try await Executables.run(
            "crmctl",
            arguments + [
                "--address", "127.0.0.1:\(port)", "--tls-cert", Self.pki.path("\(certificate).pem"),
                "--tls-key", Self.pki.path("\(certificate).key"), "--tls-ca", Self.pki.path("ca.pem"),
            ])
    }

    @Test("a configuration without TLS, or naming an unknown method, is one line and exit status 78")
    func configurationError() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"backends": [], "callers": []}"#.utf8).write(to: folder.appendingPathComponent("bad.json"))
        let noTLS = try await Executables.run("crm-gateway", ["--config", "bad.json"], directory: folder)
        #expect(noTLS.status == 78)
        #expect(noTLS.stderr.contains("tls.certificate"))
        #expect(noTLS.stderr.split(separator: "\n").count == 1)
        var config = Self.gatewayConfig(customerPort: 7101, reportingAllows: ["Customer.Gett"])
        config["log"] = ["level": "info"]
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("typo.json"))
        let typo = try await Executables.run("crm-gateway", ["--config", "typo.json"], directory: folder)
        #expect(typo.status == 78)
        #expect(typo.stderr.contains("callers[1].allow"))
    }

    @Test("crmctl through the gateway: roles decide masking; SIGHUP reloads policies; SIGTERM exits 0")
    func endToEnd() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (customer, customerPort) = try await ServerProcess.start(
            "crm-customer",
            environment: [
                "CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path,
                "CRM_TLS_CERTIFICATE": Self.pki.path("service.pem"), "CRM_TLS_KEY": Self.pki.path("service.key"),
                "CRM_TLS_CA": Self.pki.path("internal-ca.pem"), "CRM_CALLERS_TRUST_IDENTITY": "true",
            ],
            directory: folder)
        let configPath = folder.appendingPathComponent("gateway.json")
        try JSONSerialization.data(withJSONObject: Self.gatewayConfig(customerPort: customerPort, reportingAllows: ["Customer.Get", "Customer.Search"]))
            .write(to: configPath)
        let (gateway, port) = try await ServerProcess.start("crm-gateway", ["--config", configPath.path], directory: folder)

        let create = try await crmctl(
            [
                "call", "Customer.Create",
                #"{"profile": {"kind": "CUSTOMER_KIND_INDIVIDUAL", "individual": {"nameZh": "王芳"}, "#
                    + #""documents": [{"type": "DOCUMENT_TYPE_PRC_RESIDENT_ID", "number": "11010519491231002X"}]}}"#,
            ], as: "client", port: port)
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.contains(#""number":"11010519491231002X""#), "servicing sees the number in full")

        let reporting = try await crmctl(["call", "Customer.Get", #"{"id": "C0000000001"}"#], as: "san-client", port: port)
        #expect(reporting.status == 0, "\(reporting.stderr)")
        #expect(reporting.stdout.contains(#""number":"110***********002X""#), "reporting sees it masked")

        let forbidden = try await crmctl(["call", "Customer.Create", #"{}"#], as: "san-client", port: port)
        #expect(forbidden.status != 0)
        #expect(forbidden.stderr.contains("PERMISSION_DENIED") || forbidden.stdout.contains("PERMISSION_DENIED"))

        // The audit log records the calling system the gateway authenticated.
        let audit = try await crmctl(["call", "Customer.ListAudit", #"{"customerId": "C0000000001"}"#], as: "client", port: port)
        #expect(audit.stdout.contains("core-banking"), "\(audit.stdout)")
        // Reading the audit trail is in the read-access log, with the same caller.
        let access = try await crmctl(
            ["call", "Customer.ListAudit", #"{"customerId": "C0000000001", "access": true}"#], as: "client", port: port)
        #expect(access.stdout.contains("read-audit") && access.stdout.contains("core-banking"), "\(access.stdout)")

        // SIGHUP: reporting loses Customer.Get; the gateway logs the reload and keeps running.
        try JSONSerialization.data(withJSONObject: Self.gatewayConfig(customerPort: customerPort, reportingAllows: ["Customer.Search"]))
            .write(to: configPath)
        kill(gateway.process.processIdentifier, SIGHUP)
        #expect(await eventually { gateway.log.contains("configuration reloaded") })
        let afterReload = try await crmctl(["call", "Customer.Get", #"{"id": "C0000000001"}"#], as: "san-client", port: port)
        #expect(afterReload.status != 0)
        #expect(afterReload.stderr.contains("PERMISSION_DENIED") || afterReload.stdout.contains("PERMISSION_DENIED"))

        #expect(await gateway.stop() == 0)
        #expect(await customer.stop() == 0)
    }

    @Test("crm-servicedesk behind the gateway, fed by crm-customer and feeding it back: a case opened once the customer arrived, shown in the customer view, an invalid transition refused; SIGTERM exits 0")
    func serviceDesk() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let internalTLS = [
            "CRM_TLS_CERTIFICATE": Self.pki.path("service.pem"), "CRM_TLS_KEY": Self.pki.path("service.key"),
            "CRM_TLS_CA": Self.pki.path("internal-ca.pem"), "CRM_CALLERS_TRUST_IDENTITY": "true",
        ]
        // Each applies the other's feed with its own client certificate; each waits for the other.
        let feedTLS = [
            "CRM_FEEDS_TLS_CERTIFICATE": Self.pki.path("feed-client.pem"), "CRM_FEEDS_TLS_KEY": Self.pki.path("feed-client.key"),
            "CRM_FEEDS_TLS_CA": Self.pki.path("internal-ca.pem"),
        ]
        let deskPort = try await FeedProcessTests.freePort()
        let (customer, customerPort) = try await ServerProcess.start(
            "crm-customer",
            environment: internalTLS.merging(feedTLS) { $1 }.merging([
                "CRM_LISTEN_PORT": "0", "CRM_DATABASE_PATH": folder.appendingPathComponent("customer.sqlite").path,
                "CRM_FEEDS_SERVICEDESK_ADDRESS": "127.0.0.1:\(deskPort)",
            ]) { $1 },
            directory: folder)
        let (desk, _) = try await ServerProcess.start(
            "crm-servicedesk",
            environment: internalTLS.merging(feedTLS) { $1 }.merging([
                "CRM_LISTEN_PORT": "\(deskPort)", "CRM_DATABASE_PATH": folder.appendingPathComponent("servicedesk.sqlite").path,
                "CRM_FEEDS_CUSTOMER_ADDRESS": "127.0.0.1:\(customerPort)",
            ]) { $1 },
            directory: folder)
        var config = Self.gatewayConfig(customerPort: customerPort, reportingAllows: ["ServiceDesk.GetCase"])
        config["backends"] = [
            ["name": "customer", "services": [2], "instances": ["127.0.0.1:\(customerPort)"]],
            ["name": "servicedesk", "services": [4], "instances": ["127.0.0.1:\(deskPort)"]],
        ]
        var callers = config["callers"] as! [[String: Any]]
        callers[0]["allow"] = ["Customer.*", "ServiceDesk.*"]
        config["callers"] = callers
        let configPath = folder.appendingPathComponent("gateway.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configPath)
        let (gateway, port) = try await ServerProcess.start("crm-gateway", ["--config", configPath.path], directory: folder)

        let openCase = [
            "call", "ServiceDesk.OpenCase",
            #"{"kind": "CASE_KIND_COMPLAINT", "category": "cards/fees", "channel": "CASE_CHANNEL_PHONE", "priority": "CASE_PRIORITY_HIGH", "#
                + #""customerId": "C0000000001", "subject": "annual fee charged twice", "queue": "complaints-north"}"#,
        ]
        let beforeCustomer = try await crmctl(openCase, as: "client", port: port)
        #expect(beforeCustomer.status != 0)
        #expect((beforeCustomer.stderr + beforeCustomer.stdout).contains("CUSTOMER_NOT_FOUND"))

        let create = try await crmctl(
            ["call", "Customer.Create", #"{"profile": {"kind": "CUSTOMER_KIND_INDIVIDUAL", "individual": {"nameZh": "王芳"}, "branchId": "BJ-01"}}"#],
            as: "client", port: port)
        #expect(create.status == 0, "\(create.stderr)")
        // The customer reaches ServiceDesk through the feed, pushed on commit.
        let opened = Recorder(Executables.Output(status: -1, stdout: "", stderr: ""))
        let arrived = await eventually(seconds: 20) {
            guard let output = try? await crmctl(openCase, as: "client", port: port) else { return false }
            opened.update { $0 = output }
            return output.status == 0
        }
        #expect(arrived, "\(opened.value.stderr)")
        #expect(opened.value.stdout.contains(#""id":"K0000000001""#))
        #expect(opened.value.stdout.contains(#""branchId":"BJ-01""#), "the branch comes from the mirror")
        #expect(opened.value.stdout.contains("SLA_METRIC_RESOLUTION"))

        let refused = try await crmctl(
            ["call", "ServiceDesk.TransitionCase", #"{"id": "K0000000001", "expectedVersion": "1", "event": "CASE_EVENT_CLOSE"}"#],
            as: "client", port: port)
        #expect(refused.status != 0)
        #expect((refused.stderr + refused.stdout).contains("INVALID_TRANSITION"))

        let history = try await crmctl(["call", "ServiceDesk.GetCase", #"{"id": "K0000000001"}"#], as: "san-client", port: port)
        #expect(history.stdout.contains(#""actor":"core-banking""#), "\(history.stdout) \(history.stderr)")

        // The case comes back to CustomerService through ServiceDesk's feed: the single customer view shows it.
        let view = Recorder("")
        let shown = await eventually(seconds: 20) {
            guard let output = try? await crmctl(["call", "Customer.GetView", #"{"id": "C0000000001"}"#], as: "client", port: port) else { return false }
            view.update { $0 = output.stdout + output.stderr }
            return output.stdout.contains(#""caseId":"K0000000001""#)
        }
        #expect(shown, "\(view.value)")
        #expect(view.value.contains(#""openCases":1"#))

        #expect(await gateway.stop() == 0)
        #expect(await desk.stop() == 0)
        #expect(await customer.stop() == 0)
    }
}
