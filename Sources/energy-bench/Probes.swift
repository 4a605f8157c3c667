import Foundation
import MeterSimulator
import TestSupport

/// A child process of the benchmark (metersim, energyd, collectd), its output kept in a file.
final class Child {
    let process = Process()
    let name: String

    init(_ executable: String, _ arguments: [String], log: String) throws {
        name = (executable as NSString).lastPathComponent
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Sends SIGTERM and waits (SIGKILL after 30 s).
    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

/// What the kernel says about a process: CPU time and peak resident memory.
struct ProcessUsage {
    /// User + system CPU, seconds.
    var cpuSeconds: Double
    /// User + system CPU of the threads whose name starts with `poll-` (energyd's gateway pollers), seconds.
    var pollerCPUSeconds: Double
    /// Peak resident set (VmHWM), bytes.
    var peakRSSBytes: Int64

    static func of(_ pid: Int32) -> ProcessUsage {
        let cpu = cpuSeconds(statFile: "/proc/\(pid)/stat")
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let pollers = tasks.filter { name(statFile: "/proc/\(pid)/task/\($0)/stat").hasPrefix("poll-") }
            .map { runSeconds(schedstatFile: "/proc/\(pid)/task/\($0)/schedstat") }
        var peak: Int64 = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                peak = (Int64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
            }
        }
        return ProcessUsage(cpuSeconds: cpu, pollerCPUSeconds: pollers.reduce(0, +), peakRSSBytes: peak)
    }

    /// User + system CPU from a /proc stat file, seconds (in clock ticks: too coarse for a single thread).
    private static func cpuSeconds(statFile: String) -> Double {
        guard let stat = try? String(contentsOfFile: statFile, encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The command (thread) name from a /proc stat file.
    private static func name(statFile: String) -> Substring {
        guard let stat = try? String(contentsOfFile: statFile, encoding: .utf8), let open = stat.firstIndex(of: "("),
            let close = stat.lastIndex(of: ")")
        else { return "" }
        return stat[stat.index(after: open)..<close]
    }

    /// Time a thread has run, from its schedstat file (nanoseconds, exact), seconds.
    private static func runSeconds(schedstatFile: String) -> Double {
        guard let text = try? String(contentsOfFile: schedstatFile, encoding: .utf8),
            let ns = text.split(separator: " ").first.flatMap({ Double($0) })
        else { return 0 }
        return ns / 1e9
    }
}

/// CPU time of the calling thread, seconds.
func threadCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// A free TCP port on loopback (bound and released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The body of a GET answered with 200, or nil.
func httpGet(port: Int, path: String) -> String? {
    guard let (status, body) = try? HTTPGet.get(port: port, path: path), status == 200 else { return nil }
    return body
}

/// Sums a Prometheus metric's samples over all label sets.
func metricSum(_ text: String, _ name: String) -> Double {
    text.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
        .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
}

/// Requests metersim counted, all function codes.
func simulatorRequests(port: Int) -> Double {
    ((try? LineClient.request(host: "127.0.0.1", port: port, line: "counts")) ?? "").split(separator: " ").compactMap {
        $0.split(separator: "=").last.flatMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    .reduce(0, +)
}

/// Waits until `condition` holds or `seconds` pass.
@discardableResult
func wait(seconds: Double, until condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

/// Quantile of sorted values.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
}
