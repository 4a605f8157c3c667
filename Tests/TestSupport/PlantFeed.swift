import EnergyModel
import MeterSimulator

/// What a simulated plant's meters show at each of their ticks, read without the wire: a month of data in
/// seconds on a manual clock, for tests of accounting, checks and reports that do not race the machine.
public enum PlantFeed {
    /// One good sample per point of every meter at each tick in [fromMs, toMs); where `missing(meter, tick)`
    /// says so, a comm-fail sample instead (an outage).
    public static func samples(
        plant: SimulatedPlant, seriesIDs: [String: [String: Int64]], fromMs: Int64, toMs: Int64,
        missing: (String, Int64) -> Bool = { _, _ in false }
    ) -> [Sample] {
        var samples: [Sample] = []
        for meter in plant.meters.values.sorted(by: { $0.config.id < $1.config.id }) {
            let intervalMs = Int64(meter.config.intervalSeconds) * 1000
            var tick = PollSchedule.tick(atOrAfter: fromMs, intervalMs: intervalMs)
            while tick < toMs {
                let lost = missing(meter.config.id, tick)
                for (index, point) in meter.model.points.enumerated() {
                    guard let series = seriesIDs[meter.config.id]?[point.name] else { continue }
                    samples.append(
                        lost
                            ? Sample(seriesID: series, timestampMs: tick, value: nil, quality: .commFail)
                            : Sample(
                                seriesID: series, timestampMs: tick, value: plant.value(of: meter, point: index, atMs: tick), quality: .good
                            ))
                }
                tick += intervalMs
            }
        }
        return samples
    }
}
