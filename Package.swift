// swift-tools-version:6.2
import PackageDescription

/// Upcoming features on every target, as hummingbird does: explicit `any` and imports that say what they use.
/// Warnings are errors in our own targets (not in dependencies), so none accumulate.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "energy-monitor",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "energyd", targets: ["energyd"]),
        .executable(name: "energyctl", targets: ["energyctl"]),
        .executable(name: "metersim", targets: ["metersim"]),
        .executable(name: "energy-bench", targets: ["energy-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libmodbus, from the system (Debian: libmodbus-dev).
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        // glibc calls Swift's Glibc module does not show: thread names, malloc arenas.
        .systemLibrary(name: "CSystemShims"),
        // epoll and eventfd for the polling threads (apart from CSystemShims' _GNU_SOURCE).
        .systemLibrary(name: "CEpoll"),
        .target(
            name: "EnergyModel",
            swiftSettings: swiftSettings
        ),
        // Configuration files: TOML, section readers with FILE:LINE errors, cross-references, the writer.
        .target(
            name: "ConfigurationFiles",
            dependencies: ["EnergyModel", "MeterProtocols"],
            swiftSettings: swiftSettings
        ),
        // Frames of the serial-line protocols spoken through serial device servers: Modbus RTU, DL/T 645-2007.
        .target(
            name: "MeterProtocols",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ModbusPolling",
            dependencies: [
                "CEpoll", "CModbus", "CSystemShims", "EnergyModel", "MeterProtocols",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EnergyStore",
            dependencies: [
                "EnergyModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EnergyReports",
            dependencies: ["EnergyModel", "EnergyStore", "Spreadsheet"],
            swiftSettings: swiftSettings
        ),
        // Alerts and reports to people: webhooks, WeCom and DingTalk robots, e-mail; delivered from the store's outbox.
        .target(
            name: "AlertDelivery",
            dependencies: [
                "EnergyModel", "EnergyStore", "EnergyReports", "Spreadsheet",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // Console accounts: who sees what, passwords, tokens, the login limiter (the console's and energyctl's).
        .target(
            name: "Accounts",
            dependencies: [
                "EnergyModel", "EnergyStore",
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The web console and JSON API (/ and /api/v1/) and sessions, on energyd's HTTP server.
        .target(
            name: "WebConsole",
            dependencies: [
                "Accounts", "EnergyModel", "EnergyStore", "EnergyReports",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Figures shipped to the platforms above the district: a central PostgreSQL database, HTTPS JSON receivers.
        .target(
            name: "Upstream",
            dependencies: [
                "EnergyModel", "EnergyStore", "EnergyReports",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EnergyDaemon",
            dependencies: [
                "ConfigurationFiles", "EnergyModel", "ModbusPolling", "EnergyStore", "EnergyReports", "AlertDelivery", "WebConsole",
                "Upstream",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "energyd",
            dependencies: [
                "ConfigurationFiles", "EnergyDaemon", "CSystemShims", "ModbusPolling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "energyctl",
            dependencies: [
                "Accounts", "ConfigurationFiles", "EnergyStore", "EnergyModel", "EnergyReports", "Spreadsheet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Office Open XML workbooks (.xlsx) for the exports people pass around.
        .target(
            name: "Spreadsheet",
            dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: swiftSettings
        ),
        // Benchmarks: energyd against the libmodbus floor and collectd (swift run -c release energy-bench).
        .executableTarget(
            name: "energy-bench",
            dependencies: [
                "Accounts", "ConfigurationFiles", "EnergyModel", "EnergyStore", "CModbus", "MeterSimulator", "TestSupport", "WebConsole",
                "Upstream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeterSimulator",
            dependencies: [
                "ConfigurationFiles", "EnergyModel", "MeterProtocols",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Simulator/MeterSimulator",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "metersim",
            dependencies: [
                "ConfigurationFiles", "MeterSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Simulator/metersim",
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets: an in-process metersim, process control, temporary files.
        .target(
            name: "TestSupport",
            dependencies: [
                "ConfigurationFiles", "EnergyModel", "MeterSimulator",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        // toml-test/: the official TOML test suite's 1.0.0 cases (MIT licence), data for the parser's conformance test.
        .testTarget(
            name: "EnergyModelTests", dependencies: ["ConfigurationFiles", "EnergyModel", "TestSupport"], exclude: ["toml-test"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ModbusPollingTests",
            dependencies: ["ModbusPolling", "MeterSimulator", "CModbus", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EnergyStoreTests",
            dependencies: [
                "EnergyStore", "MeterSimulator", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ], swiftSettings: swiftSettings),
        .testTarget(
            name: "EnergyReportsTests",
            dependencies: [
                "EnergyReports", "EnergyStore", "MeterSimulator", "TestSupport", "AlertDelivery",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeterSimulatorTests",
            dependencies: ["MeterSimulator", "MeterProtocols", "CModbus", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AlertDeliveryTests",
            dependencies: ["AlertDelivery", "EnergyStore", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebConsoleTests",
            dependencies: [
                "Accounts", "WebConsole", "EnergyModel", "EnergyStore", "EnergyReports", "MeterSimulator", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EnergyDaemonTests",
            dependencies: [
                "ConfigurationFiles", "EnergyDaemon", "EnergyReports", "MeterSimulator", "TestSupport", "ModbusPolling", "Upstream",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
