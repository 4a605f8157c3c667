import Accounts
import ArgumentParser
import EnergyModel
import EnergyStore
import Foundation

struct User: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accounts of the web console and the API: inspector, jurisdiction (towns/parks), enterprise, admin.",
        subcommands: [Add.self, Passwd.self, Disable.self, Enable.self, List.self, Token.self])

    /// Where the password comes from.
    struct PasswordOptions: ParsableArguments {
        @Flag(help: "Read the password from the first line of standard input (scripts) instead of asking twice.")
        var passwordStdin = false

        func read() throws -> String {
            let password: String
            if passwordStdin {
                password = readLine(strippingNewline: true) ?? ""
            } else {
                guard let first = getpass("password: ").map({ String(cString: $0) }),
                    let second = getpass("again: ").map({ String(cString: $0) }), first == second
                else { throw ValidationError("the passwords differ") }
                password = first
            }
            if let problem = Secrets.passwordProblem(password) { throw ValidationError(problem) }
            return password
        }
    }

    /// The operator running energyctl, as the audit log and the records it writes name them.
    static var operatorName: String {
        "energyctl:" + (ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root")
    }

    /// Records an account change in the audit log, as the console records its own.
    static func audit(_ store: EnergyStore, _ action: String, _ detail: String) async throws {
        try await store.accounts.audit(
            account: operatorName, action: action, detail: detail, remote: "local", atMs: SystemWallClock().nowMs())
    }

    /// Disables or enables an account, audited.
    static func setDisabled(_ name: String, _ disabled: Bool, _ store: StoreOptions) async throws {
        let (path, _) = try store.resolveWithConfiguration()
        let energyStore = try await EnergyStore.open(path: path)
        guard try await energyStore.accounts.setDisabled(account: name, disabled) else { throw ValidationError("no account \(name)") }
        try await audit(energyStore, disabled ? "account_disabled" : "account_enabled", name)
        print(disabled ? "disabled \(name)" : "enabled \(name)")
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Adds an account. A jurisdiction account names its towns/parks with --scope, an enterprise account its enterprise id."
        )

        @OptionGroup var store: StoreOptions
        @OptionGroup var password: PasswordOptions

        @Argument(help: "Account name.")
        var name: String

        @Option(help: "inspector, jurisdiction, enterprise or admin.")
        var role: Role

        @Option(help: "A town/park (jurisdiction) or the enterprise id (enterprise); repeatable for towns.")
        var scope: [String] = []

        func run() async throws {
            let (path, configuration) = try store.resolveWithConfiguration(mustExist: false)
            guard AccountName.isValid(name) else { throw ValidationError(AccountName.rule) }
            switch role {
            case .jurisdiction:
                let towns = Set(configuration.enterprises.map(\.jurisdiction))
                guard !scope.isEmpty else { throw ValidationError("a jurisdiction account needs --scope TOWN (one or more)") }
                if let unknown = scope.first(where: { !towns.contains($0) }) {
                    throw ValidationError("no enterprise is in \(unknown); towns/parks: \(towns.sorted().joined(separator: ", "))")
                }
            case .enterprise:
                guard scope.count == 1, configuration.enterprises.contains(where: { $0.id == scope[0] }) else {
                    throw ValidationError("an enterprise account needs --scope ENTERPRISE_ID, one enterprise of the configuration")
                }
            case .inspector, .admin:
                guard scope.isEmpty else { throw ValidationError("\(role.rawValue) accounts see the whole district: no --scope") }
            }
            let hash = await Secrets.hashPassword(try password.read())
            let energyStore = try await EnergyStore.open(path: path)
            let added = try await energyStore.accounts.add(
                StoredAccount(name: name, role: role, scope: scope, passwordHash: hash, createdMs: SystemWallClock().nowMs()))
            guard added else { throw ValidationError("an account \(name) exists already") }
            try await User.audit(energyStore, "account_added", "\(name) \(role.rawValue) \(scope.joined(separator: ","))")
            print("added \(name) (\(role.rawValue))")
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sets an account's password and ends its sessions.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var password: PasswordOptions

        @Argument(help: "Account name.")
        var name: String

        func run() async throws {
            let (path, _) = try store.resolveWithConfiguration()
            let hash = await Secrets.hashPassword(try password.read())
            let energyStore = try await EnergyStore.open(path: path)
            guard try await energyStore.accounts.setPasswordHash(account: name, hash: hash) else {
                throw ValidationError("no account \(name)")
            }
            try await User.audit(energyStore, "password_set", name)
            print("password of \(name) set; its sessions ended")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disables an account: its sessions end and its API tokens are revoked.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "Account name.")
        var name: String

        func run() async throws { try await User.setDisabled(name, true, store) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enables a disabled account again.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "Account name.")
        var name: String

        func run() async throws { try await User.setDisabled(name, false, store) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accounts with their role, scope and state.")

        @OptionGroup var store: StoreOptions

        @Option(help: "table, csv or json.")
        var format: OutputFormat = .table

        func run() async throws {
            let (path, zone) = try store.resolve()
            let accounts = try await EnergyStore.open(path: path, readOnly: true).accounts.all()
            var table = TextTable(header: ["name", "role", "scope", "state", "created"])
            var objects: [[String: Any]] = []
            for account in accounts {
                let state = account.disabled ? "disabled" : "enabled"
                table.rows.append([
                    account.name, account.role.rawValue, account.scope.joined(separator: ","), state,
                    ISO8601Time.formatLocal(ms: account.createdMs, timeZone: zone),
                ])
                objects.append([
                    "name": account.name, "role": account.role.rawValue, "scope": account.scope, "state": state,
                    "created": jsonTime(account.createdMs, zone),
                ])
            }
            try printRows(format, table, json: objects)
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Makes an API token for scripts (Authorization: Bearer TOKEN); printed once, stored only as a hash.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "Account name.")
        var name: String

        @Option(help: "What the token is for.")
        var label = "script"

        func run() async throws {
            let (path, _) = try store.resolveWithConfiguration()
            let energyStore = try await EnergyStore.open(path: path)
            guard let account = try await energyStore.accounts.named(name), !account.disabled else {
                throw ValidationError("no enabled account \(name)")
            }
            let token = Secrets.newToken()
            try await energyStore.accounts.addAPIToken(
                tokenHash: Secrets.tokenHash(token), account: name, label: label, nowMs: SystemWallClock().nowMs())
            try await User.audit(energyStore, "token_added", "\(name) \(label)")
            print(token)
        }
    }
}

extension Role: ExpressibleByArgument {}
