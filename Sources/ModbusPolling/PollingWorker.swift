import CEpoll
import CSystemShims
import Dispatch
import Foundation
import Synchronization

/// What a wait on a socket waits for.
enum Readiness: Sendable {
    case readable, writable

    var events: UInt32 { self == .readable ? EPOLLIN.rawValue : EPOLLOUT.rawValue }
}

/// What ended a wait on a polling worker.
enum WaitOutcome: Sendable, Equatable {
    /// The socket is ready (or failed: the next call on it says how).
    case ready
    /// The deadline passed first.
    case timedOut
    /// `interrupt(owner:)` was called (a poller stopping).
    case interrupted
}

/// One polling thread that runs many gateways' polling tasks and waits for all their sockets and timers at once.
///
/// It is a Swift task executor: a gateway's poll loop is a task that prefers this executor, so its code, libmodbus
/// calls included, runs on this thread and never on the Swift concurrency pool. Where the loop would block (a
/// connect, an answer, the next tick) it suspends on `wait(for:…)` or `sleep(…)`, and the thread waits in
/// `epoll_wait` for whichever socket or deadline of any of its gateways comes first. So a dead gateway's timeout
/// costs a timer, not a thread, and epoll has no limit on descriptor numbers.
public final class PollingWorker: TaskExecutor, @unchecked Sendable {
    /// The thread's name (`poll-1`, …), as `top -H` and the benchmark see it.
    public let name: String
    /// A descriptor below FD_SETSIZE onto which a socket numbered 1024 or above is duplicated while libmodbus reads
    /// from it (libmodbus waits with select(), which cannot watch higher numbers); -1 when none was free.
    public let window: Int32
    /// /dev/null, put back on `window` after each use so the window never keeps a closed connection open.
    private let null: Int32
    private let epoll: Int32
    private let wakeup: Int32
    private let inbox = Mutex<Inbox>(Inbox())
    private let loopThread = Atomic<UInt>(0)
    private let owners = Atomic<Int>(0)

    // Touched only on the worker's own thread (hence @unchecked Sendable).
    private var runQueue: [UnownedJob] = []
    private var waiters: [Int: Waiter] = [:]
    private var ownerOfDescriptor: [Int32: Int] = [:]
    /// Edge-triggered events that arrived while nobody waited on the descriptor.
    private var pending: [Int32: UInt32] = [:]
    private var timers = DeadlineHeap()
    private var serial: UInt64 = 0

    private struct Inbox {
        var jobs: [UnownedJob] = []
        var interrupts: [Int] = []
    }

    private struct Waiter {
        var continuation: UnsafeContinuation<WaitOutcome, Never>
        var descriptor: Int32
        var events: UInt32
        var serial: UInt64
    }

    /// Starts the thread.
    init(name: String) {
        self.name = name
        let window = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if window >= 0, window >= FD_SETSIZE { Glibc.close(window) }
        self.window = window >= 0 && window < FD_SETSIZE ? window : -1
        null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        precondition(epoll >= 0 && wakeup >= 0, "epoll_create1/eventfd: \(String(cString: strerror(errno)))")
        energy_monitor_epoll_add(epoll, wakeup, EPOLLIN.rawValue)
        let thread = Thread { [self] in
            energy_monitor_name_thread(name)
            loopThread.store(pthread_self(), ordering: .releasing)
            runLoop()
        }
        thread.stackSize = 512 * 1024
        thread.start()
    }

    // MARK: Executor

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isLoopThread {
            runQueue.append(job)
            return
        }
        inbox.withLock { $0.jobs.append(job) }
        wake()
    }

    // MARK: For the gateway tasks (called on this worker's thread)

    /// A new owner id for a task's waits.
    func newOwner() -> Int { owners.add(1, ordering: .relaxed).newValue }

    /// Watches `descriptor` (a non-blocking socket) for `owner`; edge-triggered, until `forget`.
    func watch(_ descriptor: Int32, owner: Int) {
        precondition(isLoopThread)
        energy_monitor_epoll_add(epoll, descriptor, EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue)
        ownerOfDescriptor[descriptor] = owner
        pending[descriptor] = nil
    }

    /// Stops watching `descriptor` before it is closed.
    func forget(_ descriptor: Int32) {
        precondition(isLoopThread)
        energy_monitor_epoll_remove(epoll, descriptor)
        ownerOfDescriptor[descriptor] = nil
        pending[descriptor] = nil
    }

    /// Waits until `descriptor` is readable or writable (or failed), or `deadline` (uptime ns) passes.
    func wait(for descriptor: Int32, until readiness: Readiness, owner: Int, deadline: UInt64) async -> WaitOutcome {
        precondition(isLoopThread)
        let events = readiness.events | EPOLLERR.rawValue | EPOLLHUP.rawValue | EPOLLRDHUP.rawValue
        if let seen = pending.removeValue(forKey: descriptor), seen & events != 0 { return .ready }
        return await suspend(owner: owner, descriptor: descriptor, events: events, deadline: deadline)
    }

    /// Sleeps until `deadline` (uptime ns) or an interrupt; returns false when interrupted.
    @discardableResult
    func sleep(owner: Int, until deadline: UInt64) async -> Bool {
        precondition(isLoopThread)
        return await suspend(owner: owner, descriptor: -1, events: 0, deadline: deadline) != .interrupted
    }

    /// Forgets `owner` once its task has ended (an interrupt it never slept after is still recorded).
    func retire(owner: Int) {
        precondition(isLoopThread)
        interruptedOwners.remove(owner)
    }

    /// Ends `owner`'s current or next wait early with `.interrupted`; callable from any thread.
    func interrupt(owner: Int) {
        inbox.withLock { $0.interrupts.append(owner) }
        wake()
    }

    // MARK: The loop

    private var isLoopThread: Bool {
        loopThread.load(ordering: .acquiring) == pthread_self()
    }

    private func wake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeup, &one, 8)
    }

    private func suspend(owner: Int, descriptor: Int32, events: UInt32, deadline: UInt64) async -> WaitOutcome {
        if descriptor < 0, interruptedOwners.remove(owner) != nil { return .interrupted }
        return await withUnsafeContinuation { continuation in
            serial += 1
            waiters[owner] = Waiter(continuation: continuation, descriptor: descriptor, events: events, serial: serial)
            timers.push(deadline: deadline, owner: owner, serial: serial)
        }
    }

    /// Owners interrupted while not sleeping (a read in flight is never cut short): their next sleep returns at once.
    private var interruptedOwners: Set<Int> = []

    private func resume(owner: Int, with outcome: WaitOutcome) {
        guard let waiter = waiters.removeValue(forKey: owner) else { return }
        waiter.continuation.resume(returning: outcome)
    }

    private func runLoop() {
        var descriptors = [Int32](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        while true {
            let handed = inbox.withLock { inbox in
                defer { inbox = Inbox() }
                return inbox
            }
            runQueue += handed.jobs
            for owner in handed.interrupts {
                if let waiter = waiters[owner], waiter.descriptor < 0 {
                    resume(owner: owner, with: .interrupted)
                } else {
                    interruptedOwners.insert(owner)
                }
            }
            // Run what is ready; a job resuming another task queues it here, and it runs in this same round.
            while !runQueue.isEmpty {
                let jobs = runQueue
                runQueue = []
                for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
            }
            // Deadlines of waits that ended early (an answer came) must not wake the thread for nothing.
            timers.dropEarliest { owner, serial in waiters[owner]?.serial != serial }
            let now = DispatchTime.now().uptimeNanoseconds
            var timeoutNs: Int64 = -1
            if let next = timers.earliest { timeoutNs = next <= now ? 0 : Int64(min(next - now, 60_000_000_000)) }
            let ready = energy_monitor_epoll_wait(epoll, &descriptors, &events, Int32(events.count), timeoutNs)
            for index in 0..<Int(max(ready, 0)) {
                let descriptor = descriptors[index]
                let seen = events[index]
                if descriptor == wakeup {
                    var count: UInt64 = 0
                    _ = Glibc.read(wakeup, &count, 8)
                    continue
                }
                guard let owner = ownerOfDescriptor[descriptor] else { continue }
                if let waiter = waiters[owner], waiter.descriptor == descriptor, waiter.events & seen != 0 {
                    resume(owner: owner, with: .ready)
                } else {
                    pending[descriptor, default: 0] |= seen
                }
            }
            let after = DispatchTime.now().uptimeNanoseconds
            while let (owner, serial) = timers.popExpired(at: after) {
                if let waiter = waiters[owner], waiter.serial == serial { resume(owner: owner, with: .timedOut) }
            }
        }
    }

    /// Runs `descriptor`'s libmodbus call on a descriptor select() can watch: itself when below 1024, else the
    /// window for the duration of `body`.
    func selectable<T>(_ descriptor: Int32, _ body: (Int32) -> T) -> T? {
        if descriptor < FD_SETSIZE { return body(descriptor) }
        guard window >= 0, dup2(descriptor, window) == window else { return nil }
        defer { dup2(null, window) }
        return body(window)
    }
}

/// The polling threads of the process, created on first use: as many as the machine has cores.
public enum PollingWorkers {
    /// Every worker.
    public static let all: [PollingWorker] = {
        raiseOpenFileLimit()
        let count = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 16))
        return (1...count).map { PollingWorker(name: "poll-\($0)") }
    }()

    private static let assigned = Atomic<Int>(0)

    /// The worker for the next gateway, in turn.
    public static func next() -> PollingWorker {
        all[assigned.add(1, ordering: .relaxed).oldValue % all.count]
    }

    /// Creates the workers now: called at start, before the database and the HTTP server open descriptors, so
    /// that each worker's window gets a number below 1024.
    public static func prepare() { _ = all }

    /// Lifts the soft limit on open files to the hard one (the unit's `LimitNOFILE=`): one socket per gateway.
    private static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// Deadlines by time, earliest first (a binary heap); entries of waits already ended are skipped when popped.
private struct DeadlineHeap {
    private var entries: [(deadline: UInt64, owner: Int, serial: UInt64)] = []

    var earliest: UInt64? { entries.first?.deadline }

    mutating func push(deadline: UInt64, owner: Int, serial: UInt64) {
        entries.append((deadline, owner, serial))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes the earliest entries while `isStale` says their wait is over.
    mutating func dropEarliest(while isStale: (Int, UInt64) -> Bool) {
        while let first = entries.first, isStale(first.owner, first.serial) { removeEarliest() }
    }

    /// The earliest entry, removed, if its deadline has passed at `now`.
    mutating func popExpired(at now: UInt64) -> (owner: Int, serial: UInt64)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        removeEarliest()
        return (first.owner, first.serial)
    }

    private mutating func removeEarliest() {
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
                if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
                guard smallest != parent else { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }
}
