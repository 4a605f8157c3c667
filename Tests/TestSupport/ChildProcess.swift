import Foundation
import Synchronization

/// A real process of this package (energyd, metersim) started by a test, its output captured.
public final class ChildProcess: Sendable {
    private let process: Process
    private let output = OutputBuffer()
    /// Command line, for failure messages.
    public let commandLine: String

    /// Starts `executable` (a built product name or a path) with `arguments`, in `directory` when given, with
    /// `input` on its standard input.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil, input: String? = nil
    ) throws {
        let path = executable.contains("/") ? executable : builtProduct(executable)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Standard output apart from standard error: a program's JSON is read from the one, its logs from the other.
        let outPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errorPipe
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        self.process = process
        self.commandLine = ([path] + arguments).joined(separator: " ")
        let output = self.output
        for (pipe, isStandardOutput) in [(outPipe, true), (errorPipe, false)] {
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil  // end of output: stop being called
                    output.ended()
                } else {
                    output.append(data, isStandardOutput: isStandardOutput)
                }
            }
        }
        // One spawn at a time: Foundation's Process.run crashed (a bad memcpy) when parallel tests started processes
        // at once, and a child spawned meanwhile could inherit another's pipe and keep it from ending.
        try spawning.withLock { _ in try process.run() }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
    }

    /// Everything the process printed so far (stdout and stderr, in the order read).
    public var printed: String { output.text }

    /// What it printed on standard output alone.
    public var standardOutput: String { output.standardOutput }

    /// Process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether it still runs.
    public var isRunning: Bool { process.isRunning }

    /// Waits until the output contains `text`.
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(20)) async -> Bool {
        await eventually(timeout: timeout) { printed.contains(text) }
    }

    /// Sends a signal.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit and for both pipes to be read to their end (an exited process's last output may still be
    /// in them); nil when it is still running after `timeout` (it is then killed).
    public func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        if await eventually(timeout: timeout, { !process.isRunning }) {
            process.waitUntilExit()
            // Seconds on a starved machine (CI with busy loops on both cores): a minute before giving up on the rest.
            _ = await eventually(timeout: .seconds(60)) { output.endedPipes == 2 }
            return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        }
        send(SIGKILL)
        process.waitUntilExit()
        return nil
    }
}

private let spawning = Mutex(())

/// Bytes appended from the pipes' handler threads and read by the test: both streams in the order read, standard
/// output alone, and how many pipes reached their end.
final class OutputBuffer: Sendable {
    private let storage = Mutex<(all: Data, standardOutput: Data, ended: Int)>((Data(), Data(), 0))

    func append(_ data: Data, isStandardOutput: Bool) {
        storage.withLock {
            $0.all += data
            if isStandardOutput { $0.standardOutput += data }
        }
    }

    func ended() { storage.withLock { $0.ended += 1 } }

    var endedPipes: Int { storage.withLock { $0.ended } }
    var text: String { String(decoding: storage.withLock { $0.all }, as: UTF8.self) }
    var standardOutput: String { String(decoding: storage.withLock { $0.standardOutput }, as: UTF8.self) }
}
