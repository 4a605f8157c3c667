import EnergyModel
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import WebConsole

/// The console's figure cache: computed once, recomputed in the background only when the rollups behind a figure
/// changed, never twice at once.
@Suite struct FigureCacheTests {
    final class Counter: Sendable {
        let count = Mutex(0)
        func next() -> Int {
            count.withLock {
                $0 += 1; return $0
            }
        }
        var value: Int { count.withLock { $0 } }
    }

    @Test func aFigureIsRecomputedOnlyAfterItsPeriodChangedAndNotMoreOftenThanItsCostAllows() async throws {
        // A manual clock: each computation "takes" 100 ms, so the figure may be recomputed 1 s after the last one.
        let clock = ManualClock(startMs: 0)
        let cache = FigureCache(nowMs: { clock.nowMs() })
        let computations = Counter()
        func figure() async throws -> Int {
            try await cache.value("district|2026-01", toMs: 1000) {
                clock.set(clock.nowMs() + 100)
                return computations.next()
            }
        }
        #expect(try await figure() == 1)
        #expect(try await figure() == 1 && computations.value == 1)
        // A change after the period's end leaves it alone.
        cache.changed(fromMs: 1000)
        #expect(try await figure() == 1 && computations.value == 1)
        // A change within it: the kept figure is served, not yet recomputed, while it waits for its turn …
        cache.changed(fromMs: 500)
        clock.set(500)
        #expect(try await figure() == 1 && computations.value == 1)
        // … and once ten times its cost has passed, served once more while it is recomputed in the background.
        clock.set(1100)
        #expect(try await figure() == 1)
        #expect(await eventually { computations.value == 2 })
        #expect(await eventually { (try? await figure()) == 2 })
        #expect(computations.value == 2)
    }

    @Test func requestsArrivingTogetherShareOneComputation() async throws {
        let cache = FigureCache(nowMs: { SystemWallClock().nowMs() })
        let computations = Counter()
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await cache.value("slow", toMs: 1000) {
                        try await Task.sleep(for: .milliseconds(200))
                        return computations.next()
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values == Array(repeating: 1, count: 8) && computations.value == 1)
    }
}
