import Crypto
import EnergyModel
import EnergyStore
import Foundation
import HummingbirdBcrypt
import Synchronization

/// The account behind a request.
public struct Principal: Sendable {
    public var account: StoredAccount
    /// The session's CSRF token; nil for API tokens, which browsers never send by themselves.
    public var csrf: String? = nil

    public init(account: StoredAccount, csrf: String? = nil) {
        self.account = account
        self.csrf = csrf
    }

    public var role: Role { account.role }

    /// Whether the account may see `enterprise`.
    public func sees(_ enterprise: EnterpriseConfig) -> Bool {
        switch role {
        case .inspector, .admin: true
        case .jurisdiction: account.scope.contains(enterprise.jurisdiction)
        case .enterprise: account.scope.contains(enterprise.id)
        }
    }

    /// Whether the account may enter figures of `enterprise` by hand (production, energy not metered online).
    public func entersFigures(of enterprise: EnterpriseConfig) -> Bool {
        role == .enterprise && account.scope.contains(enterprise.id)
    }

    /// `configuration` cut to the enterprises the account sees, so reports built on it total only those.
    public func scoped(_ configuration: EnergyConfiguration) -> EnergyConfiguration {
        var scoped = configuration
        scoped.enterprises = configuration.enterprises.filter(sees)
        return scoped
    }
}

/// Passwords, session and API tokens.
public enum Secrets {
    /// bcrypt's work factor: about a quarter of a second a hash on this class of machine.
    public static let bcryptCost: UInt8 = 12
    /// Shortest password accepted.
    public static let minimumPasswordLength = 10
    /// One hash at a time, off the Swift concurrency pool: bcrypt is a blocking C call, and a burst of logins
    /// must not take the CPU the pollers need.
    private static let hashing = DispatchQueue(label: "password-hashing")

    /// Why a password is refused, or nil.
    public static func passwordProblem(_ password: String) -> String? {
        password.count < minimumPasswordLength ? "a password needs at least \(minimumPasswordLength) characters" : nil
    }

    /// The bcrypt hash of `password`.
    public static func hashPassword(_ password: String) async -> String {
        await withCheckedContinuation { continuation in
            hashing.async { continuation.resume(returning: Bcrypt.hash(password, cost: bcryptCost)) }
        }
    }

    /// Whether `password` matches `hash`; with no hash (an unknown account) a decoy is checked, so the time of
    /// the answer does not tell which accounts exist.
    public static func verifyPassword(_ password: String, hash: String?) async -> Bool {
        await withCheckedContinuation { continuation in
            hashing.async { continuation.resume(returning: Bcrypt.verify(password, hash: hash ?? decoyHash) && hash != nil) }
        }
    }

    /// A hash no password is known for; made on the hashing queue at its first use.
    private static let decoyHash = Bcrypt.hash(newToken(), cost: bcryptCost)

    /// 256 random bits, hex (the system generator is getrandom(2): cryptographically secure).
    public static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    /// What the store keeps of a token: its SHA-256, hex.
    public static func tokenHash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// What an account may be called: 1–64 ASCII letters, digits, `.`, `_`, `@` or `-`. A login under any other name is
/// refused before it is audited or counted, so that nobody can fill the audit log or the limiter with junk names.
public enum AccountName {
    public static let rule = "an account name is 1–64 letters, digits or . _ @ -"

    public static func isValid(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._@-".unicodeScalars.contains($0))
            }
    }
}

/// Failed logins per account and per address, to slow down guessing: after `limit` failures within `window`
/// further attempts are refused until the oldest failure leaves the window. Keys without a failure in the window
/// are dropped, and at most `maximumKeys` are kept (those failing most recently), so memory stays bounded.
public final class LoginLimiter: Sendable {
    private let failures = Mutex<[String: [Int64]]>([:])
    public let accountLimit = 5
    public let addressLimit = 20
    public let windowMs: Int64 = 15 * 60_000
    public let maximumKeys: Int

    public init(maximumKeys: Int = 10_000) { self.maximumKeys = maximumKeys }

    /// Keys held now (tests).
    public var keyCount: Int { failures.withLock { $0.count } }

    /// Seconds to wait before the next attempt, or nil when one may be made now.
    public func retryAfter(account: String, address: String, nowMs: Int64) -> Int? {
        failures.withLock { failures in
            var wait: Int64?
            for (key, limit) in [("account:" + account, accountLimit), ("address:" + address, addressLimit)] {
                guard let times = failures[key] else { continue }
                let recent = times.filter { $0 > nowMs - windowMs }
                failures[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first { wait = max(wait ?? 0, oldest + windowMs - nowMs) }
            }
            return wait.map { Int(($0 + 999) / 1000) }
        }
    }

    public func failed(account: String, address: String, nowMs: Int64) {
        failures.withLock { failures in
            for key in ["account:" + account, "address:" + address] {
                // A key's list never grows past its limit's worth of the window: older failures no longer count.
                var times = failures[key, default: []].filter { $0 > nowMs - windowMs }
                times.append(nowMs)
                failures[key] = Array(times.suffix(addressLimit))
            }
            guard failures.count > maximumKeys else { return }
            failures = failures.filter { $0.value.last! > nowMs - windowMs }
            if failures.count > maximumKeys {
                let kept = failures.sorted { $0.value.last! > $1.value.last! }.prefix(maximumKeys)
                failures = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
            }
        }
    }

    public func succeeded(account: String) {
        failures.withLock { _ = $0.removeValue(forKey: "account:" + account) }
    }
}
