// swift-tools-version:6.1
// The libFuzzer harness for WireProtocol. A package of its own so that neither the tests nor CI
// build it: `scripts/fuzz` builds it with `--sanitize=fuzzer,address` and runs it.
// Sources/WireProtocol is a symlink to the main package's module, compiled here with the sanitizers.
import PackageDescription

let package = Package(
    name: "crm-fuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .target(
            name: "WireProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Generated/README.md"],
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("InternalImportsByDefault"),
                .enableUpcomingFeature("MemberImportVisibility"),
            ]
        ),
        .executableTarget(
            name: "FuzzWireProtocol",
            dependencies: ["WireProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
