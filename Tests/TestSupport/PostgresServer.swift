import Foundation

/// A real PostgreSQL 15 server of Debian's postgresql-15, initialised in a temporary directory and listening on
/// loopback only, for the tests that ship figures upstream. Started as the `postgres` user when the tests run as
/// root (PostgreSQL refuses root). `stop()` and `start()` again keep the data: a server restart mid-run.
public final class PostgresServer: Sendable {
    public let directory: TemporaryDirectory
    public let port: Int
    public let user = "energyd"
    public let database = "energy"
    static let bin = "/usr/lib/postgresql/15/bin"

    private var data: String { directory.file("data") }
    private var asServerUser: [String] { getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : [] }

    /// Initialises a cluster and starts it on a free port.
    public init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.bin + "/initdb") else {
            throw TestSetupError("PostgreSQL 15 is not installed (deploy/install-deps.sh --test installs postgresql-15)")
        }
        directory = try TemporaryDirectory("postgres")
        port = try freeTCPPort()
        if getuid() == 0 { try Self.run(["chown", "-R", "postgres:postgres", directory.path]) }
        try Self.run(
            asServerUser + [
                Self.bin + "/initdb", "-D", data, "-U", user, "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
            ])
        try start()
        try Self.run(
            asServerUser + [
                Self.bin + "/psql", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", "postgres", "-qc",
                "CREATE DATABASE \(database)",
            ])
    }

    /// Starts the server (again) and waits until it accepts connections.
    public func start() throws {
        try Self.run(
            asServerUser + [
                Self.bin + "/pg_ctl", "-D", data, "-l", directory.file("server.log"), "-w", "-t", "60", "-o",
                "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off", "start",
            ])
    }

    /// Stops it at once (clients are disconnected), keeping its data.
    public func stop() throws {
        try Self.run(asServerUser + [Self.bin + "/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"])
    }

    /// Stops it and removes its directory.
    public func destroy() {
        try? stop()
        directory.remove()
    }

    /// Runs SQL through psql; returns its unaligned, tuples-only output, one row per line, fields split by `|`.
    public func query(_ sql: String) throws -> [[String]] {
        let output = try Self.run(
            asServerUser + [
                Self.bin + "/psql", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database, "-AtX", "-v", "ON_ERROR_STOP=1",
                "-c", sql,
            ])
        return output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Runs a command to its end with posix_spawn, its standard output into a file and its standard error into
    /// another (a warning psql prints must not read as a row); returns the output, with the errors in a failure.
    /// Not Foundation's Process: the server pg_ctl starts inherits what Process watches for the child's exit, and
    /// Process then waits as long as it runs.
    @discardableResult
    static func run(_ command: [String]) throws -> String {
        let outputPath = NSTemporaryDirectory() + "/postgres-command-\(UUID().uuidString)"
        let errorPath = outputPath + ".err"
        defer { for path in [outputPath, errorPath] { try? FileManager.default.removeItem(atPath: path) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
        let arguments = ["/usr/bin/env"] + command
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, &argv, environ)
        guard spawned == 0 else { throw TestSetupError("cannot start \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw TestSetupError("\(command.joined(separator: " ")) failed (\(status)): \(text)\(errors)")
        }
        return text
    }
}

/// A test's environment could not be set up.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// A TCP port nobody listens on now (bound to port 0, read back, closed).
public func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError("socket: \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestSetupError("bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
