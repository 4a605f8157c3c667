import Accounts
import EnergyStore
import Foundation
import TestSupport
import Testing
import WebConsole

/// openapi.yaml against the running console: schemathesis (from PyPI, in the venv deploy/install-deps.sh --test
/// makes) generates requests for every documented operation and checks each answer's status, content type and
/// body against the document; it also checks that an operation refuses requests without the token.
@Suite(.serialized) struct OpenAPIConformanceTests {
    static let schemathesis = packageRoot + "/.build/test-venv/bin/st"

    @Test func everyRouteAnswersAsOpenAPIYamlSays() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.schemathesis), "schemathesis is missing: run deploy/install-deps.sh --test")
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        // An enterprise account's token: it may read its own enterprise and write its production and energy figures.
        let token = Secrets.newToken()
        try await site.store.accounts.addAPIToken(tokenHash: Secrets.tokenHash(token), account: "e02", label: "schemathesis", nowMs: 0)
        let run = try ChildProcess(
            Self.schemathesis,
            [
                "run", packageRoot + "/openapi.yaml", "--url", "http://127.0.0.1:\(site.port)", "--header",
                "Authorization: Bearer \(token)",
                "--checks", "all", "--max-examples", "25", "--seed", "1", "--generation-deterministic", "--request-timeout", "20",
                "--exclude-checks", "positive_data_acceptance",
            ], environment: ["NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""],
            // Its cache of found failures goes into the working directory: a temporary one, not the repository.
            directory: site.directory.path)
        let status = await run.waitForExit(timeout: .seconds(300))
        #expect(status == 0, "\(run.printed.suffix(6000))")
        // It did reach every operation.
        #expect(run.printed.contains("24 selected") || run.printed.contains("24 total"), "\(run.printed.suffix(3000))")
    }
}
