import Foundation
import Synchronization

/// Figures the console computed (district and enterprise reports, chart series), kept until the rollups behind
/// them change. A report over a thousand enterprises takes seconds; a page must answer in a tenth of one.
///
/// When accounting changes rollups from some time on, the entries whose period reaches past it become stale: the
/// next request still gets the stale figures at once and starts one recomputation in the background, so that
/// figures are at most one accounting pass behind (as they are anyway) and no reader waits. An entry is not
/// recomputed more often than every `costFactor` times what it took to compute (a district report of a thousand
/// enterprises takes seconds: it is then refreshed every few minutes, using at most a tenth of a core), and entries
/// older than `maximumAgeMs` are refreshed the same way, for changes made outside energyd (`energyctl rebuild`).
final class FigureCache: Sendable {
    private struct Entry: @unchecked Sendable {
        var value: any Sendable
        /// End of the period the figures cover, UTC epoch ms.
        var toMs: Int64
        var computedMs: Int64
        /// How long computing it took.
        var costMs: Int64
        var stale = false
        var refreshing = false
        var lastUsed: UInt64
        /// The change count when it was last marked stale.
        var staleAt: UInt64 = 0
    }

    /// Entries, a use clock for eviction, and a count of changes, so that a recomputation that began before a
    /// change never stores its figures as fresh.
    private let entries = Mutex<(map: [String: Entry], clock: UInt64, changes: UInt64)>(([:], 0, 0))
    /// Computations under way, awaited by every request for the same figures instead of started again.
    private let computing = Mutex<[String: Task<any Sendable, any Error>]>([:])
    let capacity: Int
    let maximumAgeMs: Int64
    let costFactor: Int64 = 10
    private let nowMs: @Sendable () -> Int64

    init(capacity: Int = 512, maximumAgeMs: Int64 = 600_000, nowMs: @escaping @Sendable () -> Int64) {
        self.capacity = capacity
        self.maximumAgeMs = maximumAgeMs
        self.nowMs = nowMs
    }

    /// The figures under `key` (covering times before `toMs`), computed by `compute` when missing.
    func value<T: Sendable>(_ key: String, toMs: Int64, compute: @escaping @Sendable () async throws -> T) async throws -> T {
        let now = nowMs()
        let cached: (value: T, refresh: Bool, changes: UInt64)? = entries.withLock { state in
            guard var entry = state.map[key], let value = entry.value as? T else { return nil }
            state.clock += 1
            entry.lastUsed = state.clock
            let due = now - entry.computedMs >= costFactor * entry.costMs
            let refresh = (entry.stale && due || now - entry.computedMs > maximumAgeMs) && !entry.refreshing
            if refresh { entry.refreshing = true }
            state.map[key] = entry
            return (value, refresh, state.changes)
        }
        if let cached {
            if cached.refresh {
                Task {
                    if let fresh = try? await compute() {
                        self.store(key, fresh, toMs: toMs, computedMs: now, costMs: self.nowMs() - now, startedAt: cached.changes)
                    } else {
                        self.entries.withLock { $0.map[key]?.refreshing = false }
                    }
                }
            }
            return cached.value
        }
        let startedAt = entries.withLock { $0.changes }
        let (task, first) = computing.withLock { running in
            if let task = running[key] { return (task, false) }
            let task = Task<any Sendable, any Error> { try await compute() }
            running[key] = task
            return (task, true)
        }
        defer { if first { computing.withLock { _ = $0.removeValue(forKey: key) } } }
        guard let value = try await task.value as? T else { throw CancellationError() }
        if first { store(key, value, toMs: toMs, computedMs: now, costMs: nowMs() - now, startedAt: startedAt) }
        return value
    }

    /// Rollups (or alerts, or production figures) from `fromMs` on changed.
    func changed(fromMs: Int64) {
        entries.withLock { state in
            state.changes += 1
            for (key, entry) in state.map where entry.toMs > fromMs {
                state.map[key]?.stale = true
                state.map[key]?.staleAt = state.changes
            }
        }
    }

    private func store(_ key: String, _ value: some Sendable, toMs: Int64, computedMs: Int64, costMs: Int64, startedAt: UInt64) {
        entries.withLock { state in
            state.clock += 1
            // A change after the computation began (seen on the entry, or anywhere for a new one) leaves it stale.
            let staleAt = state.map[key]?.staleAt ?? (state.changes > startedAt ? state.changes : 0)
            var entry = Entry(value: value, toMs: toMs, computedMs: computedMs, costMs: costMs, lastUsed: state.clock, staleAt: staleAt)
            entry.stale = staleAt > startedAt
            state.map[key] = entry
            if state.map.count > capacity, let oldest = state.map.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                state.map.removeValue(forKey: oldest)
            }
        }
    }
}
