import Foundation
import Synchronization

/// Keeps descriptor numbers below FD_SETSIZE free for Modbus sockets.
///
/// libmodbus waits with select(), which cannot watch a descriptor of 1024 or above. At start, before the
/// database and the HTTP endpoint open theirs, energyd reserves one low descriptor per gateway (opened on
/// /dev/null). A socket that gets a high number is moved onto a reserved one with dup2(), which replaces it
/// atomically; when the connection closes, /dev/null is put back in its place the same way. So with up to
/// 1000 gateways every Modbus socket is watchable, and none can be taken by another thread in between.
public final class DescriptorReserve: Sendable {
    /// The process's reserve.
    public static let shared = DescriptorReserve()

    /// An empty reserve (energyd uses `shared`).
    public init() {}
    private let free = Mutex<[Int32]>([])

    /// Reserves descriptors below FD_SETSIZE until `count` are held, free or lent to sockets (or none below it
    /// are left); returns how many are held.
    @discardableResult
    public func reserve(_ count: Int) -> Int {
        raiseOpenFileLimit()
        let lent = reserved.withLock { $0.count }
        return lent
            + free.withLock { free in
                while free.count + lent < count {
                    let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                    guard fd >= 0 else { break }
                    guard fd < FD_SETSIZE else {
                        Glibc.close(fd)
                        break
                    }
                    free.append(fd)
                }
                return free.count
            }
    }

    /// Descriptors held in reserve.
    public var available: Int { free.withLock { $0.count } }

    /// A socket descriptor libmodbus can watch: `fd` itself when low enough, else moved onto a reserved one.
    /// Returns nil (and closes `fd`) when it is high and nothing is in reserve.
    func watchable(_ fd: Int32) -> Int32? {
        if fd < FD_SETSIZE { return fd }
        guard let low = free.withLock({ $0.popLast() }) else {
            Glibc.close(fd)
            return nil
        }
        guard dup2(fd, low) == low else {
            free.withLock { $0.append(low) }
            Glibc.close(fd)
            return nil
        }
        Glibc.close(fd)
        reserved.withLock { $0.insert(low) }
        return low
    }

    /// Closes a socket; a reserved descriptor goes back to the reserve (atomically re-pointed at /dev/null).
    func close(_ fd: Int32) {
        let wasReserved = reserved.withLock { $0.remove(fd) != nil }
        guard wasReserved else {
            Glibc.close(fd)
            return
        }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if null >= 0, dup2(null, fd) == fd {
            free.withLock { $0.append(fd) }
        } else {
            Glibc.close(fd)
        }
        if null >= 0 { Glibc.close(null) }
    }

    private let reserved = Mutex<Set<Int32>>([])

    /// Lifts the soft limit on open files to the hard one: a thousand gateways need more than the usual 1024.
    private func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
