import EnergyModel
import Foundation
import GRDB

/// A console account as stored: the scope is checked by the console, the hash by its password rules.
public struct StoredAccount: Sendable, Hashable {
    public var name: String
    public var role: Role
    /// Towns/parks of a jurisdiction account, the enterprise of an enterprise account; empty otherwise.
    public var scope: [String]
    public var passwordHash: String
    public var disabled: Bool
    public var createdMs: Int64

    public init(name: String, role: Role, scope: [String], passwordHash: String, disabled: Bool = false, createdMs: Int64) {
        self.name = name
        self.role = role
        self.scope = scope
        self.passwordHash = passwordHash
        self.disabled = disabled
        self.createdMs = createdMs
    }

    /// nil for a row whose role this version does not know (written by hand): such an account cannot sign in.
    init?(row: Row) {
        guard let role = Role(rawValue: row["role"]) else { return nil }
        self.role = role
        name = row["name"]
        scope = (row["scope"] as String).split(separator: "\n").map(String.init)
        passwordHash = row["password_hash"]
        disabled = row["disabled"]
        createdMs = row["created_at"]
    }
}

/// A login session: whose, and the token forms must echo.
public struct StoredSession: Sendable, Hashable {
    public var account: StoredAccount
    public var csrf: String
    public var expiresMs: Int64
}

/// One line of the audit log.
public struct AuditEntry: Sendable, Hashable, Codable {
    public var id: Int64
    public var atMs: Int64
    public var account: String
    /// login, login_failed, logout, production, account …
    public var action: String
    public var detail: String
    public var remote: String
}

/// Console accounts, their sessions and API tokens, and the audit log of what they did.
public struct AccountTable: Sendable {
    let database: DatabasePool
}

extension EnergyStore {
    /// Accounts, sessions, API tokens and the audit log.
    public var accounts: AccountTable { AccountTable(database: database) }
}

extension AccountTable {
    /// Adds an account; false when the name is taken.
    public func add(_ account: StoredAccount) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO accounts (name, role, scope, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO NOTHING
                    """,
                arguments: [
                    account.name, account.role.rawValue, account.scope.joined(separator: "\n"), account.passwordHash, account.disabled,
                    account.createdMs,
                ])
            return db.changesCount == 1
        }
    }

    /// Replaces an account's password hash and ends its sessions; false when there is no such account.
    public func setPasswordHash(account name: String, hash: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "UPDATE accounts SET password_hash = ? WHERE name = ?", arguments: [hash, name])
            let found = db.changesCount == 1
            try db.execute(sql: "DELETE FROM sessions WHERE account = ?", arguments: [name])
            return found
        }
    }

    /// Disables or enables an account; disabling ends its sessions and revokes its API tokens.
    public func setDisabled(account name: String, _ disabled: Bool) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "UPDATE accounts SET disabled = ? WHERE name = ?", arguments: [disabled, name])
            let found = db.changesCount == 1
            if disabled {
                try db.execute(sql: "DELETE FROM sessions WHERE account = ?", arguments: [name])
                try db.execute(sql: "DELETE FROM api_tokens WHERE account = ?", arguments: [name])
            }
            return found
        }
    }

    /// All accounts, by name.
    public func all() async throws -> [StoredAccount] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY name").compactMap(StoredAccount.init(row:))
        }
    }

    /// One account.
    public func named(_ name: String) async throws -> StoredAccount? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM accounts WHERE name = ?", arguments: [name]).flatMap(StoredAccount.init(row:))
        }
    }

    /// Stores a session (its token's hash), dropping the expired ones on the way.
    public func addSession(tokenHash: String, account: String, csrf: String, nowMs: Int64, expiresMs: Int64) async throws {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [nowMs])
            try db.execute(
                sql: "INSERT INTO sessions (token_hash, account, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [tokenHash, account, csrf, nowMs, expiresMs])
        }
    }

    /// The live session with this token hash, of an enabled account.
    public func session(tokenHash: String, nowMs: Int64) async throws -> StoredSession? {
        try await database.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT a.*, s.csrf, s.expires_at FROM sessions s JOIN accounts a ON a.name = s.account
                        WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0
                        """, arguments: [tokenHash, nowMs]),
                let account = StoredAccount(row: row)
            else { return nil }
            return StoredSession(account: account, csrf: row["csrf"], expiresMs: row["expires_at"])
        }
    }

    /// Ends a session.
    public func removeSession(tokenHash: String) async throws {
        try await database.write { db in try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [tokenHash]) }
    }

    /// Stores an API token (its hash) for an account.
    public func addAPIToken(tokenHash: String, account: String, label: String, nowMs: Int64) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO api_tokens (token_hash, account, label, created_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, account, label, nowMs])
        }
    }

    /// The enabled account an API token belongs to.
    public func ofAPIToken(tokenHash: String) async throws -> StoredAccount? {
        try await database.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT a.* FROM api_tokens t JOIN accounts a ON a.name = t.account WHERE t.token_hash = ? AND a.disabled = 0",
                arguments: [tokenHash]
            ).flatMap(StoredAccount.init(row:))
        }
    }

    /// Appends to the audit log.
    public func audit(account: String, action: String, detail: String, remote: String, atMs: Int64) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT INTO audit (at, account, action, detail, remote) VALUES (?, ?, ?, ?, ?)",
                arguments: [atMs, account, action, detail, remote])
        }
    }

    /// The newest audit entries first.
    public func auditLog(limit: Int = 200) async throws -> [AuditEntry] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                AuditEntry(
                    id: $0["id"], atMs: $0["at"], account: $0["account"], action: $0["action"], detail: $0["detail"], remote: $0["remote"])
            }
        }
    }
}
