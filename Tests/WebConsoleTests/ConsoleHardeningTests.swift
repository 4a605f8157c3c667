import Accounts
import EnergyStore
import Foundation
import TestSupport
import Testing

@testable import WebConsole

/// What independent probes of the console found, each answered over real HTTP: junk logins fill nothing, `next`
/// leads only to this site, logins and writes need this site's own pages, every answer carries the security
/// headers, and a production day is a day.
@Suite(.serialized) struct ConsoleHardeningTests {
    @Test func loginsUnderJunkNamesAreNeitherAuditedNorCounted() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let auditBefore = try await site.store.accounts.auditLog().count
        let huge = String(repeating: "a", count: 512 * 1024)
        for name in [huge, "a b", "x/../y", "名字", String(repeating: "a", count: 65)] {
            #expect(try await site.postLogin(name, password: "whatever it is").status == 401)
        }
        #expect(try await site.store.accounts.auditLog().count == auditBefore, "nothing audited for names no account can have")
        // A name that may exist is audited as before.
        #expect(try await site.postLogin("nobody", password: "whatever it is").status == 401)
        #expect(try await site.store.accounts.auditLog().count == auditBefore + 1)
    }

    @Test func theLimiterKeepsABoundedNumberOfKeys() {
        let limiter = LoginLimiter(maximumKeys: 100)
        for index in 0..<1000 { limiter.failed(account: "a\(index)", address: "10.0.\(index / 256).\(index % 256)", nowMs: Int64(index)) }
        #expect(limiter.keyCount <= 101)
        // The most recent failures are the ones kept: the last account is still counted.
        for _ in 0..<4 { limiter.failed(account: "a999", address: "x", nowMs: 2000) }
        #expect(limiter.retryAfter(account: "a999", address: "y", nowMs: 2001) != nil)
        // Past the window nothing is held back, and the keys read are dropped.
        #expect(limiter.retryAfter(account: "a999", address: "x", nowMs: 2001 + limiter.windowMs) == nil)
    }

    @Test func afterLoginTheBrowserGoesOnlyToAPathOfThisSite() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        for (next, expected) in [
            ("/alerts?state=open", "/alerts?state=open"), ("/\t/evil.example/", "/"), ("//evil.example/", "/"),
            ("/\\evil.example", "/"), ("/alerts\r\nSet-Cookie: x=1", "/"), ("https://evil.example/", "/"),
        ] {
            let answer = try await site.postLogin("inspector", password: ConsoleAccessTests.password, next: next)
            #expect(
                answer.status == 303 && answer.header("Location") == expected,
                "\(next.debugDescription) → \(answer.header("Location") ?? "-")")
        }
    }

    @Test func loginsAndWritesComeOnlyFromThisSitesPages() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        // A login form posted without the login page's token (a page elsewhere logging a browser in) is refused.
        let forged = try await site.send("POST", "/login", form: ["account": "e02", "password": ConsoleAccessTests.password])
        #expect(forged.status == 403 && forged.header("Set-Cookie")?.hasPrefix("energy_session=") != true)
        let e02 = try await site.login("e02")
        let entry = ["product": "clinker", "date": "2026-01-05", "quantity": "10", "csrf": e02.csrf]
        let own = "http://127.0.0.1:\(site.port)"
        for (headers, status) in [
            (["Origin": "http://evil.example"], 403), (["Origin": "null"], 403), (["Sec-Fetch-Site": "cross-site"], 403),
            (["Origin": own, "Host": "127.0.0.1:\(site.port)"], 303),
        ] {
            let answer = try await site.send(
                "POST", "/enterprises/E02/production", headers: e02.headers.merging(headers) { $1 }, form: entry)
            #expect(answer.status == status, "\(headers): \(answer.status)")
        }
        #expect(try await site.store.production.entries(enterprise: "E02", fromMs: 0, toMs: .max).count == 1)
    }

    @Test func everyAnswerCarriesTheSecurityHeadersAndADayIsADay() async throws {
        let site = try await ConsoleAccessTests.Site()
        defer { site.directory.remove() }
        let e02 = try await site.login("e02")
        let page = try await site.send("GET", "/enterprises/E02?period=2026-01", headers: e02.headers)
        let api = try await site.send("GET", "/api/v1/enterprises/E02?period=2026-01", headers: e02.headers)
        for answer in [page, api] {
            #expect(answer.status == 200)
            #expect(answer.header("Referrer-Policy") == "same-origin")
            #expect(answer.header("X-Content-Type-Options") == "nosniff")
        }
        // openapi.yaml documents a day: a timestamp is refused and nothing is written.
        let headers = e02.headers.merging(["X-CSRF-Token": e02.csrf]) { $1 }
        for date in ["2025-12-22T23:00:00-10:00", "2026-01-05T00:00:00Z", "0001-01-01", "2026-02-30"] {
            let answer = try await site.send(
                "POST", "/api/v1/enterprises/E02/production", headers: headers,
                json: #"{"product":"clinker","date":"\#(date)","quantity":1}"#)
            #expect(answer.status == 400, "\(date): \(answer.status) \(answer.body)")
        }
        #expect(try await site.store.production.entries(enterprise: "E02", fromMs: 0, toMs: .max).isEmpty)
    }
}
