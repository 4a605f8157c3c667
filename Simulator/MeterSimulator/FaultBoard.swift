import EnergyModel
import Synchronization

/// The faults in force: those the scenario schedules plus those set at run time, and which one-shot faults fired.
public final class FaultBoard: Sendable {
    private let state: Mutex<(faults: [FaultSpec], fired: Set<Int>)>

    /// Creates the board with the scenario's faults.
    public init(faults: [FaultSpec]) { state = Mutex((faults, [])) }

    /// Every fault, scheduled or added.
    public var all: [FaultSpec] { state.withLock { $0.faults } }

    /// Adds a fault (from the control command).
    public func add(_ fault: FaultSpec) { state.withLock { $0.faults.append(fault) } }

    /// Ends every fault on `target` (all faults when nil) at `timeMs`; returns how many were ended.
    @discardableResult
    public func clear(target: String?, at timeMs: Int64) -> Int {
        state.withLock { state in
            var ended = 0
            for index in state.faults.indices where target == nil || state.faults[index].target == target {
                if state.faults[index].isActive(at: timeMs) || state.faults[index].startMs > timeMs {
                    state.faults[index].endMs = timeMs
                    ended += 1
                }
            }
            return ended
        }
    }

    /// The first fault of `kind` on any of `targets` in force at `timeMs`.
    public func active(_ kind: FaultKind, targets: [String], at timeMs: Int64) -> FaultSpec? {
        state.withLock { state in
            state.faults.first { $0.kind == kind && targets.contains($0.target) && $0.isActive(at: timeMs) }
        }
    }

    /// Faults of `kind` on `target` that started at or before `timeMs`, oldest first (counter history).
    func started(_ kind: FaultKind, target: String, by timeMs: Int64) -> [FaultSpec] {
        state.withLock { state in
            state.faults.filter { $0.kind == kind && $0.target == target && $0.startMs <= timeMs }.sorted { $0.startMs < $1.startMs }
        }
    }

    /// The one fault of `kind` on `target` that has started by `timeMs` and not fired yet, marking it fired.
    func fireOnce(_ kind: FaultKind, target: String, at timeMs: Int64) -> FaultSpec? {
        state.withLock { state in
            guard
                let index = state.faults.indices.first(where: {
                    state.faults[$0].kind == kind && state.faults[$0].target == target && state.faults[$0].isActive(at: timeMs)
                        && !state.fired.contains($0)
                })
            else { return nil }
            state.fired.insert(index)
            return state.faults[index]
        }
    }
}
