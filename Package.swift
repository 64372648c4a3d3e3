// swift-tools-version:6.0
import PackageDescription

// cvault: an encrypted customer-data vault with tokenization.
// C libraries live only behind the CSodium, CSQLite and CLibPQ system-library targets; the domain (VaultCore)
// knows nothing of SQLite, sockets or the command line.
let package = Package(
    name: "cvault",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cvault", targets: ["cvault"]),
        .library(name: "VaultCore", targets: ["VaultCore"]),
        // For services that call a running `cvault serve`: needs neither libsodium nor SQLite.
        .library(name: "VaultClient", targets: ["VaultClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            path: "Sources/CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            path: "Sources/CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "CVaultSystem"),
        .target(
            name: "VaultCore",
            dependencies: [
                "CSodium", "CVaultSystem", "VaultJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // What every store backend shares and no engine defines: the job queue, the store's own threads, the
        // single writer's group commit (docs/DESIGN.md, "The store contract").
        .target(name: "VaultStoreRuntime", dependencies: ["VaultCore", "CVaultSystem"]),
        .target(
            name: "VaultSQLite",
            dependencies: [
                "VaultCore", "VaultStoreRuntime", "CSQLite", "CVaultSystem",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The PostgreSQL store, so several servers serve one vault (docs/DESIGN.md, "Storage: PostgreSQL").
        .target(name: "VaultPostgres", dependencies: ["VaultCore", "VaultStoreRuntime", "CLibPQ"]),
        // Strict JSON reading, and the one JSON writer (the wire both ways, the audit log, the CLI's `--json`);
        // no dependencies.
        .target(name: "VaultJSON"),
        .target(
            name: "VaultServer",
            dependencies: [
                // VaultClient for `UnixSocket` only (the live-server check before binding).
                "VaultCore", "VaultJSON", "VaultClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The socket client: SwiftNIO only. Never VaultCore, so a service linking it needs no libsodium.
        .target(
            name: "VaultClient",
            dependencies: [
                "VaultJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "cvault",
            dependencies: [
                "VaultCore", "VaultSQLite", "VaultPostgres", "VaultServer", "VaultClient", "VaultJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The fuzz harnesses (docs/RELIABILITY.md): one entry function per input format, shared by the fuzzer
        // and the corpus replay test so the two cannot drift.
        .target(
            name: "VaultFuzz",
            dependencies: [
                "VaultCore", "VaultServer", "VaultSQLite",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What every test target shares: fixtures, helpers, the in-memory store and the store conformance
        // suite every `VaultStore` backend runs (docs/DESIGN.md, "The store contract").
        .target(name: "VaultTestSupport", dependencies: ["VaultCore", "VaultJSON"], path: "Tests/VaultTestSupport"),
        .testTarget(name: "VaultJSONTests", dependencies: ["VaultJSON"]),
        .testTarget(name: "VaultCoreTests", dependencies: ["VaultCore", "VaultJSON", "VaultTestSupport"]),
        .testTarget(
            name: "VaultSQLiteTests",
            dependencies: ["VaultCore", "VaultSQLite", "VaultStoreRuntime", "VaultTestSupport"]
        ),
        .testTarget(
            name: "VaultPostgresTests",
            dependencies: ["VaultCore", "VaultPostgres", "VaultStoreRuntime", "VaultTestSupport"]
        ),
        .testTarget(name: "IntegrationTests", dependencies: ["VaultCore", "VaultClient", "VaultTestSupport"]),
        .testTarget(name: "FuzzReplayTests", dependencies: ["VaultFuzz"]),
    ]
)

// The libFuzzer executable exists only for `Tools/fuzz`, which sets CVAULT_FUZZ and builds it alone
// (`--product cvault-fuzz`) with `-sanitize=fuzzer,address` into its own scratch path: libFuzzer supplies its
// `main`, so it cannot link in a normal build, and the normal build does not pay for it.
if Context.environment["CVAULT_FUZZ"] != nil {
    package.products.append(.executable(name: "cvault-fuzz", targets: ["cvault-fuzz"]))
    // -parse-as-library: the module has no top-level code and no `main` of its own.
    package.targets.append(.systemLibrary(name: "CLibFuzzer", path: "Sources/CLibFuzzer"))
    package.targets.append(
        .executableTarget(
            name: "cvault-fuzz",
            dependencies: ["VaultFuzz", "CLibFuzzer"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    )
}
