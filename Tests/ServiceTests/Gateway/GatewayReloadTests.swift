import Foundation
import Gateway
import NIOCore
import ServiceRuntime
import Testing
import TestSupport
import WireProtocol
internal import CRMAPI
internal import RPCTransport

/// SIGHUP's reload: certificates, CRLs and caller policies change for new connections and calls
/// while open connections stay; a bad new file changes nothing.
@Suite("Gateway reload")
struct GatewayReloadTests {
    @Test("reloading ten times under load fails no request and drops no connection")
    func reloadUnderLoad() async throws {
        try await GatewayHarness.withGateway { gateway in
            let connections = try await withThrowingTaskGroup(of: RPCConnection.self) { group in
                for _ in 0..<4 { group.addTask { try await gateway.connect() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let stop = Recorder(false)
            let counts = try await withThrowingTaskGroup(of: (ok: Int, failed: Int).self) { group in
                for connection in connections {
                    for _ in 0..<4 {
                        group.addTask {
                            var (ok, failed) = (0, 0)
                            // Until the reloads are over, and at least 5 calls each however slow the machine.
                            while !stop.value || ok + failed < 5 {
                                do {
                                    _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
                                    ok += 1
                                } catch {
                                    failed += 1
                                }
                            }
                            return (ok, failed)
                        }
                    }
                }
                for round in 0..<10 {
                    try await Task.sleep(for: .milliseconds(100))
                    // Each round changes a policy the load does not depend on and re-reads the
                    // certificate, key, CA and CRL.
                    let reloaded = try await gateway.reload { config in
                        var callers = config["callers"] as! [[String: Any]]
                        callers[1]["rate_per_second"] = Double(100 + round)
                        config["callers"] = callers
                    }
                    #expect(reloaded)
                }
                stop.update { $0 = true }
                return try await group.reduce(into: (ok: 0, failed: 0)) { $0.ok += $1.ok; $0.failed += $1.failed }
            }
            #expect(counts.failed == 0)
            #expect(counts.ok >= 80)
            for connection in connections {
                #expect(connection.isUsable)
                await connection.closeNow()
            }
        }
    }

    @Test("a policy change applies to the next call on an open connection")
    func policyChange() async throws {
        try await GatewayHarness.withGateway { gateway in
            let connection = try await gateway.connect(as: "san-client")
            _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            #expect(try await gateway.reload { config in
                var callers = config["callers"] as! [[String: Any]]
                callers[1]["allow"] = ["Customer.Search"]
                config["callers"] = callers
            })
            let error = await #expect(throws: RPCError.self) {
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            }
            #expect(error?.code == .permissionDenied)
            await connection.closeNow()
        }
    }

    @Test("a bad new configuration is refused and the one in force stays", arguments: ["pattern", "certificate", "crl", "json"])
    func badReload(fault: String) async throws {
        try await GatewayHarness.withGateway { gateway in
            let connection = try await gateway.connect(as: "san-client")
            let reloaded: Bool
            if fault == "json" {
                try Data("{ not json".utf8).write(to: URL(fileURLWithPath: gateway.configPath))
                reloaded = await gateway.gateway.reload(from: gateway.configPath)
            } else {
                reloaded = try await gateway.reload { config in
                    var tls = config["tls"] as! [String: Any]
                    var callers = config["callers"] as! [[String: Any]]
                    switch fault {
                    case "pattern": callers[1]["allow"] = ["Custmer.Get"]
                    case "certificate": tls["certificate"] = gateway.pki.path("missing.pem")
                    default: tls["crl"] = gateway.pki.path("ca.pem")  // a certificate, not a CRL
                    }
                    // The good part of the bad file must not leak in either.
                    callers[1]["allow"] = fault == "pattern" ? ["Custmer.Get"] : ["Customer.Search"]
                    config["tls"] = tls
                    config["callers"] = callers
                }
            }
            #expect(!reloaded)
            _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest())
            let fresh = try await gateway.connect(as: "san-client")
            _ = try await fresh.unary(CustomerMethods.get, GatewayHarness.getRequest())
            await fresh.closeNow()
            await connection.closeNow()
        }
    }

    @Test("a CRL put in force by reload refuses the revoked certificate's next connection and ends its open one")
    func revocationByReload() async throws {
        try await GatewayHarness.withGateway(tweak: { config in
            var tls = config["tls"] as! [String: Any]
            tls["crl"] = nil
            config["tls"] = tls
        }) { gateway in
            // Without the CRL the certificate is valid: it is the CRL, not something else, that refuses it.
            let before = try await gateway.connect(as: "revoked")
            _ = try await before.unary(CustomerMethods.get, GatewayHarness.getRequest())
            let metric = "crm_gateway_crl_next_update_timestamp_seconds"
            #expect(!String(decoding: await gateway.gateway.scrapeMetrics(), as: UTF8.self).contains(metric))
            #expect(try await gateway.reload { config in
                var tls = config["tls"] as! [String: Any]
                tls["crl"] = gateway.pki.path("ca.crl")
                config["tls"] = tls
            })
            // The CRL's next update is exposed, so that an alert can fire before it passes.
            let nextUpdate = try #require(gateway.gateway.admission.revocationsInForce.first?.nextUpdate)
            let exposed = String(decoding: await gateway.gateway.scrapeMetrics(), as: UTF8.self)
                .split(separator: "\n").first { $0.hasPrefix("\(metric){issuer=\"CN=ca\"}") }
            #expect(exposed.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } } == nextUpdate.timeIntervalSince1970, "\(exposed ?? "none")")
            await #expect(throws: (any Error).self) {
                let connection = try await gateway.connect(as: "revoked")
                _ = try await connection.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .seconds(5))
            }
            // The connection it opened before the reload is ended too: its next call fails.
            await #expect(throws: (any Error).self) {
                _ = try await before.unary(CustomerMethods.get, GatewayHarness.getRequest(), timeout: .seconds(5))
            }
            // A valid caller's connection stays.
            let valid = try await gateway.connect()
            _ = try await valid.unary(CustomerMethods.get, GatewayHarness.getRequest())
            await valid.closeNow()
            await before.closeNow()
        }
    }
}
