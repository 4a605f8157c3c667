import Foundation
import Logging

/// energyd's log lines on standard error. Under systemd, whose journal reads that stream (it names the stream in
/// `JOURNAL_STREAM`), each line starts with its syslog priority, `<3>` error … `<7>` debug (sd-daemon(3)), and
/// carries no timestamp: the journal stamps each line itself and filters on the priority (`journalctl -p err`).
/// Elsewhere, on a terminal or a pipe, a line reads as swift-log's StreamLogHandler writes it, timestamp first.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let toJournal: Bool

    /// A handler for `label`'s logger writing for the journal (`toJournal`) or for people.
    public init(label: String, toJournal: Bool = StandardError.isJournal) {
        self.label = label
        self.toJournal = toJournal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        merged.merge(metadataProvider?.get() ?? [:]) { $1 }
        merged.merge(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error.message"] = "\(error)" }
        StandardError.write(line(level: event.level, metadata: merged, source: event.source, message: "\(event.message)"))
    }

    /// One log line, without its newline.
    func line(level: Logger.Level, metadata: Logger.Metadata, source: String, message: String) -> String {
        let fields = metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let text = "\(label):\(fields) [\(source)] \(message)"
        return toJournal ? "<\(Self.priority(level))>\(text)" : "\(Self.timestamp()) \(level) \(text)"
    }

    /// The syslog priority of a level.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Standard error as the journal or a person reads it.
public enum StandardError {
    /// Whether standard error is the stream systemd's journal reads: `JOURNAL_STREAM` ("DEVICE:INODE") names it.
    public static let isJournal: Bool = {
        guard let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return false }
        return stream == "\(status.st_dev):\(status.st_ino)"
    }()

    /// Reports an error the process ends on (a configuration's FILE:LINE errors): every line at priority error
    /// for the journal.
    public static func report(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        for line in lines { write(isJournal ? "<3>" + line : String(line)) }
    }

    /// Writes one line in a single write, so that threads' lines never interleave.
    static func write(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
