import EnergyStore
import Foundation
import Logging

/// The JSON Lines alert log: one object per line, appended; reopened on SIGHUP so that logrotate can move it.
///
/// Writes go through a serial Dispatch queue: file I/O blocks, and blocking work stays off the Swift concurrency pool.
public final class AlertLog: Sendable {
    /// The file.
    public let path: String
    private let queue = DispatchQueue(label: "alert-log")
    private nonisolated(unsafe) var handle: FileHandle?  // touched only on `queue`

    /// A log at `path`, opened at the first write.
    public init(path: String) { self.path = path }

    /// Appends lines (each one JSON object). A file (or directory) deleted or moved away is noticed before and
    /// after writing: the lines go to a new file at `path`, and an append that may have gone astray throws, so the
    /// caller keeps them pending (the alerts table holds them) and the log catches up at the next pass.
    public func append(_ lines: [String]) async throws {
        guard !lines.isEmpty else { return }
        try await onQueue {
            if let open = self.handle, !self.isAtPath(open) {
                try? open.close()
                self.handle = nil
            }
            let handle = try self.openHandle()
            try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
            guard self.isAtPath(handle) else {
                try? handle.close()
                self.handle = nil
                throw AlertLogMoved(path: self.path)
            }
        }
    }

    private func isAtPath(_ handle: FileHandle) -> Bool {
        FileIdentity.of(path: path).map { $0 == FileIdentity.of(descriptor: handle.fileDescriptor) } ?? false
    }

    /// Closes the file; the next write opens it again at `path` (after log rotation moved the old one).
    public func reopen() async {
        try? await onQueue {
            try self.handle?.close()
            self.handle = nil
        }
    }

    private func openHandle() throws -> FileHandle {
        if let handle { return handle }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let opened = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try opened.seekToEnd()
        handle = opened
        return opened
    }

    private func onQueue(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// The alert log's file went away while lines were written to it.
struct AlertLogMoved: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path) was deleted or moved while being written; the lines are written again" }
}
