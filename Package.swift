// swift-tools-version:6.1
import PackageDescription

/// One set of compiler settings for every target, so that every module is held to the same rules.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
    .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioTestUtils = Target.Dependency.product(name: "NIOTestUtils", package: "swift-nio")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS = Target.Dependency.product(name: "NIOTLS", package: "swift-nio")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let histogram = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let grdbSQLite = Target.Dependency.product(name: "GRDBSQLite", package: "GRDB.swift")
let configuration = Target.Dependency.product(name: "Configuration", package: "swift-configuration")
let systemPackage = Target.Dependency.product(name: "SystemPackage", package: "swift-system")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let x509 = Target.Dependency.product(name: "X509", package: "swift-certificates")
let swiftASN1 = Target.Dependency.product(name: "SwiftASN1", package: "swift-asn1")
let nioConcurrencyHelpers = Target.Dependency.product(name: "NIOConcurrencyHelpers", package: "swift-nio")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

let targets: [Target] = [
    // The protoc plugin that generates the method descriptors, the registry and PROTOCOL.md's method
    // table from the services in Protos/ (scripts/generate-protos.sh runs it).
    .executableTarget(
        name: "protoc-gen-crm",
        dependencies: [swiftProtobuf, .product(name: "SwiftProtobufPluginLibrary", package: "swift-protobuf")],
        swiftSettings: swiftSettings
    ),
    // The protocol: framing, handshake, metadata, errors, method descriptors and the connection state
    // machines. Knows nothing of sockets, TLS, SQLite or any service's messages.
    .target(name: "WireProtocol", dependencies: [nioCore, swiftProtobuf], swiftSettings: swiftSettings),
    // The API: the messages, method descriptors, registry and handler protocols generated from Protos/.
    .target(name: "CRMAPI", dependencies: ["WireProtocol", swiftProtobuf], exclude: ["Generated/README.md"], swiftSettings: swiftSettings),
    // The transport: the RPC server and client on NIO, with TLS. No store, no configuration files.
    .target(
        name: "RPCTransport",
        dependencies: ["WireProtocol", nioCore, nioPosix, nioSSL, nioTLS, nioConcurrencyHelpers, logging, serviceLifecycle, swiftProtobuf],
        swiftSettings: swiftSettings
    ),
    // SQLite settings of the whole process, made before SQLite is first used (C: sqlite3_config is variadic).
    .target(name: "SQLiteProcessSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
    .target(name: "BoringSSLRevocation"),
    // What every server shares beyond the transport: the SQLite store, change feeds, configuration,
    // the launcher and the admin endpoint.
    .target(
        name: "ServiceRuntime",
        dependencies: [
            "RPCTransport", "CRMAPI", "WireProtocol", "SQLiteProcessSettings", nioCore, nioPosix, nioSSL, nioHTTP1, nioConcurrencyHelpers, logging,
            serviceLifecycle, swiftProtobuf, grdb, grdbSQLite, configuration, systemPackage, unixSignals, prometheus, argumentParser,
        ],
        swiftSettings: swiftSettings
    ),
    // What a service with a copy of the customer feed checks before it attaches something to a customer.
    .target(name: "CustomerMirror", dependencies: ["CRMAPI", "WireProtocol"], swiftSettings: swiftSettings),
    .target(
        name: "CustomerService",
        dependencies: ["ServiceRuntime", "RPCTransport", "CRMAPI", "WireProtocol", grdb, logging, nioCore, swiftProtobuf, crypto],
        swiftSettings: swiftSettings
    ),
    .target(
        name: "MarketingService",
        dependencies: ["ServiceRuntime", "RPCTransport", "CRMAPI", "CustomerMirror", "WireProtocol", grdb, logging, swiftProtobuf, serviceLifecycle],
        swiftSettings: swiftSettings
    ),
    .target(
        name: "ServiceDeskService",
        dependencies: [
            "ServiceRuntime", "RPCTransport", "CRMAPI", "CustomerMirror", "WireProtocol", grdb, logging, nioCore, swiftProtobuf, serviceLifecycle, crypto,
        ],
        swiftSettings: swiftSettings
    ),
    // The one door for other bank systems: mutual TLS, caller policies, limits, routing.
    .target(
        name: "Gateway",
        dependencies: [
            "ServiceRuntime", "RPCTransport", "CRMAPI", "WireProtocol", "BoringSSLRevocation", nioCore, nioConcurrencyHelpers, nioPosix, nioSSL, logging, serviceLifecycle,
            unixSignals, x509, swiftASN1,
        ],
        swiftSettings: swiftSettings
    ),
    // The Swift client: the typed calls generated from Protos/ over the transport's RPCClient. Links no store.
    .target(name: "CRMClient", dependencies: ["RPCTransport", "CRMAPI", "WireProtocol", nioCore, swiftProtobuf], swiftSettings: swiftSettings),

    .executableTarget(
        name: "crm-customer",
        dependencies: ["CustomerService", "ServiceRuntime", "RPCTransport"],
        swiftSettings: swiftSettings
    ),
    .executableTarget(name: "crm-marketing", dependencies: ["MarketingService", "ServiceRuntime", "RPCTransport"], swiftSettings: swiftSettings),
    .executableTarget(name: "crm-servicedesk", dependencies: ["ServiceDeskService", "ServiceRuntime", "RPCTransport"], swiftSettings: swiftSettings),
    .executableTarget(
        name: "crm-gateway", dependencies: ["Gateway", "ServiceRuntime", "RPCTransport", logging, serviceLifecycle, unixSignals], swiftSettings: swiftSettings),
    // Calls the CRM from the shell; links the client only, no store and no service.
    .executableTarget(
        name: "crmctl",
        dependencies: ["CRMClient", "CRMAPI", "RPCTransport", "WireProtocol", nioCore, swiftProtobuf, argumentParser],
        swiftSettings: swiftSettings
    ),
    // Works on a service's database file on its host (backup, restore, check, migrations) and copies a feed.
    .executableTarget(
        name: "crm-admin",
        dependencies: [
            "CRMClient", "ServiceRuntime", "RPCTransport", "CRMAPI", "WireProtocol", "CustomerService", "MarketingService", "ServiceDeskService",
            argumentParser, grdb, logging, serviceLifecycle, unixSignals,
        ],
        swiftSettings: swiftSettings
    ),
    .executableTarget(
        name: "crm-bench",
        dependencies: [
            "ServiceRuntime", "RPCTransport", "CRMAPI", "WireProtocol", "CustomerService", "Gateway", "MarketingService", "ServiceDeskService", grdb, nioCore,
            nioPosix, nioConcurrencyHelpers,
            logging, serviceLifecycle,
            argumentParser, histogram, swiftProtobuf,
        ],
        swiftSettings: swiftSettings
    ),

    // Helpers shared by the test targets (the throw-away PKI).
    .target(
        name: "TestSupport", dependencies: ["ServiceRuntime", "RPCTransport", "CRMAPI", "WireProtocol", nioCore, nioPosix, nioSSL, nioTLS], path: "Tests/TestSupport",
        swiftSettings: swiftSettings),
    .testTarget(
        name: "WireProtocolTests",
        dependencies: ["WireProtocol", "CRMAPI", nioCore, nioTestUtils, swiftProtobuf],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ServiceRuntimeTests",
        dependencies: ["ServiceRuntime", "RPCTransport", "CRMAPI", "WireProtocol", "TestSupport", nioCore, nioPosix, nioEmbedded, nioSSL, nioTLS, logging, serviceLifecycle, grdb, grdbSQLite, swiftProtobuf],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "ServiceTests",
        dependencies: [
            "ServiceRuntime", "RPCTransport", "CRMAPI", "CustomerMirror", "CustomerService", "MarketingService", "ServiceDeskService", "Gateway", "CRMClient",
            "WireProtocol", "TestSupport", nioCore, nioPosix, nioSSL, nioTLS, logging, serviceLifecycle, grdb, swiftProtobuf, x509, swiftASN1,
        ],
        swiftSettings: swiftSettings
    ),
]

let package = Package(
    name: "bank-crm",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "WireProtocol", targets: ["WireProtocol"]),
        .library(name: "CRMAPI", targets: ["CRMAPI"]),
        .library(name: "RPCTransport", targets: ["RPCTransport"]),
        .library(name: "CRMClient", targets: ["CRMClient"]),
        // For Benchmarks/grpc-baseline, which serves the same customer view over gRPC.
        .library(name: "ServiceRuntime", targets: ["ServiceRuntime"]),
        .library(name: "CustomerService", targets: ["CustomerService"]),
        .executable(name: "crm-customer", targets: ["crm-customer"]),
        .executable(name: "crm-marketing", targets: ["crm-marketing"]),
        .executable(name: "crm-servicedesk", targets: ["crm-servicedesk"]),
        .executable(name: "crm-gateway", targets: ["crm-gateway"]),
        .executable(name: "crmctl", targets: ["crmctl"]),
        .executable(name: "crm-admin", targets: ["crm-admin"]),
        .executable(name: "crm-bench", targets: ["crm-bench"]),
    ],
    dependencies: dependencies,
    targets: targets
)
