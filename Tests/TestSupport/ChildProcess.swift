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
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        self.process = process
        self.commandLine = ([path] + arguments).joined(separator: " ")
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil  // end of output: stop being called
            } else {
                output.append(String(decoding: data, as: UTF8.self))
            }
        }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
    }

    /// Everything the process printed so far (stdout and stderr).
    public var printed: String { output.text }

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

    /// Waits for the exit; nil when it is still running after `timeout` (it is then killed).
    public func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        if await eventually(timeout: timeout, { !process.isRunning }) {
            process.waitUntilExit()
            return process.terminationReason == .uncaughtSignal ? -process.terminationStatus : process.terminationStatus
        }
        send(SIGKILL)
        process.waitUntilExit()
        return nil
    }
}

/// Text appended from a pipe's handler thread and read by the test.
final class OutputBuffer: Sendable {
    private let storage = Mutex<String>("")
    func append(_ text: String) { storage.withLock { $0 += text } }
    var text: String { storage.withLock { $0 } }
}
