import Testing

@testable import EnergyModel

@Suite struct BackoffAndScheduleTests {
    @Test func backoffGrowsExponentiallyAndIsCapped() {
        let policy = BackoffPolicy(initialMs: 1000, maxMs: 60_000, jitter: 0)
        #expect((1...8).map { policy.delayMs(failures: $0, random: 0) } == [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000])
        #expect(policy.delayMs(failures: 0, random: 0.5) == 0)
        #expect(policy.delayMs(failures: 1000, random: 0) == 60_000)
    }

    @Test func jitterOnlyLengthensWithinItsFraction() {
        let policy = BackoffPolicy(initialMs: 1000, maxMs: 60_000, jitter: 0.2)
        for failures in 1...10 {
            let base = policy.delayMs(failures: failures, random: 0)
            let longest = policy.delayMs(failures: failures, random: 0.999_999)
            #expect(longest >= base && Double(longest) <= Double(base) * 1.2)
        }
    }

    @Test func ticksAlignToWallClockMultiples() {
        let minute: Int64 = 60_000
        #expect(PollSchedule.nextTick(after: 1_700_000_000_000, intervalMs: minute) == 1_700_000_040_000)
        #expect(PollSchedule.nextTick(after: 1_700_000_040_000, intervalMs: minute) == 1_700_000_100_000)
        #expect(PollSchedule.tick(atOrAfter: 1_700_000_040_000, intervalMs: minute) == 1_700_000_040_000)
        #expect(PollSchedule.nextTick(after: -1, intervalMs: 1000) == 0)
        // A meter in the 250 ms slot of each second: its ticks are at …250, strictly after the time given.
        #expect(PollSchedule.nextTick(after: 1_700_000_000_100, intervalMs: 1000, offsetMs: 250) == 1_700_000_000_250)
        #expect(PollSchedule.nextTick(after: 1_700_000_000_250, intervalMs: 1000, offsetMs: 250) == 1_700_000_001_250)
        #expect((-7 as Int64).floorDivided(by: 2) == -4)
    }
}
