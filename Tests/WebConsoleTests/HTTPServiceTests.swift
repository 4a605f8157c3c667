import Foundation
import Logging
import MeterSimulator
import NIOCore
import NIOHTTP1
import Synchronization
import TestSupport
import Testing
import WebConsole

/// The HTTP side under abuse: bounded connections, idle ones closed, malformed requests answered once.
@Suite struct HTTPServiceTests {
    func service(_ limits: HTTPLimits = .standard) async throws -> HTTPService {
        var logger = Logger(label: "http-test")
        logger.logLevel = .critical
        return try await HTTPService(host: "127.0.0.1", port: 0, limits: limits, logger: logger) { request in
            HTTPAnswer(status: .ok, contentType: "text/plain", body: "ok \(request.path)\n")
        }
    }

    /// `count` connections that never send a byte (reads give up after 5 s).
    func silentConnections(_ count: Int, port: Int) async throws -> [Int32] {
        try await offThePool {
            try (0..<count).map { _ in try LineClient.openConnection(host: "127.0.0.1", port: port, timeoutSeconds: 5) }
        }
    }

    /// How many of `connections` the server closed: their read ends in end of file, not a timeout.
    func closedByTheServer(_ connections: [Int32]) async throws -> Int {
        try await offThePool {
            var buffer = [UInt8](repeating: 0, count: 16)
            return connections.filter { recv($0, &buffer, buffer.count, 0) == 0 }.count
        }
    }

    @Test func aRequestThatIsNotHTTP1GetsOne400() async throws {
        let http = try await service(HTTPLimits(maxConnections: 16, idleTimeout: .seconds(2)))
        let port = try #require(http.port)
        for request in ["GET /\r\n\r\n", "\u{16}\u{3}\u{1}garbage\r\n\r\n", "GET / HTTP/1.1\r\nHost\r\n\r\n"] {
            let answer = try await offThePool { try HTTPGet.exchange(port: port, request: request) }
            #expect(
                answer.components(separatedBy: "HTTP/1.1 400").count - 1 == 1, "\(request.debugDescription): \(answer.debugDescription)")
        }
        // A request cut short gets no answer, and its connection is closed once idle.
        #expect(try await offThePool { try HTTPGet.exchange(port: port, request: "GET /healthz HTTP/1.1\r\n") } == "")
        #expect(try await offThePool { try HTTPGet.get(port: port, path: "/healthz") }.status == 200)
    }

    @Test func silentConnectionsCannotLockOutOthers() async throws {
        let http = try await service(HTTPLimits(maxConnections: 16, maxConnectionsPerAddress: 16, idleTimeout: .seconds(60)))
        let port = try #require(http.port)
        let flood = try await silentConnections(200, port: port)
        defer { flood.forEach { close($0) } }
        #expect(await eventually { http.openConnections == 16 }, "\(http.openConnections) open")
        // Each newcomer took the place of the one that had waited longest: the last sixteen are still open.
        #expect(try await closedByTheServer(Array(flood.dropLast(16))) == 184)
        // And a scraper still gets its answer, in place of one more silent connection.
        #expect(try await offThePool { try HTTPGet.get(port: port, path: "/metrics") }.status == 200)
        #expect(http.openConnections <= 16)
    }

    @Test func headerLinesTrickledInCannotHoldAConnectionPastItsDeadline() async throws {
        let http = try await service(HTTPLimits(maxConnections: 16, idleTimeout: .seconds(2)))
        let port = try #require(http.port)
        // One header line every 300 ms: never idle for long, yet the request never completes.
        let lines = try await offThePool { () throws -> Int in
            let fd = try LineClient.openConnection(host: "127.0.0.1", port: port, timeoutSeconds: 1)
            defer { close(fd) }
            var sent = 0
            var buffer = [UInt8](repeating: 0, count: 16)
            for line in ["GET /healthz HTTP/1.1\r\n"] + (0..<60).map({ "X-Slow-\($0): 1\r\n" }) {
                let bytes = Array(line.utf8)
                guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { break }
                sent += 1
                if recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) == 0 { break }
                usleep(300_000)
            }
            return sent
        }
        // Closed about 2 s in (some 7 lines), long before the 61 lines the client would have sent over 18 s.
        #expect(lines < 30, "\(lines) lines sent before the server closed the connection")
    }

    @Test func whenEveryConnectionIsBusyANewcomerGets503() async throws {
        let started = Atomic<Int>(0)
        let release = Atomic<Bool>(false)
        var logger = Logger(label: "http-test")
        logger.logLevel = .critical
        let http = try await HTTPService(
            host: "127.0.0.1", port: 0, limits: HTTPLimits(maxConnections: 4, maxConnectionsPerAddress: 4), logger: logger
        ) { request in
            if request.path == "/slow" {
                started.wrappingAdd(1, ordering: .relaxed)
                while !release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(20)) }
            }
            return HTTPAnswer(status: .ok, contentType: "text/plain", body: "ok\n")
        }
        let port = try #require(http.port)
        let slow = (0..<4).map { _ in Task { try await offThePool { try HTTPGet.get(port: port, path: "/slow") }.status } }
        #expect(await eventually { started.load(ordering: .relaxed) == 4 })
        let refused = try await offThePool { try HTTPGet.exchange(port: port, request: "GET / HTTP/1.1\r\nHost: x\r\n\r\n") }
        #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused.debugDescription)")
        release.store(true, ordering: .relaxed)
        for task in slow { #expect(try await task.value == 200) }
    }

    @Test func aConnectionIsKeptAliveForFurtherAndPipelinedRequests() async throws {
        let http = try await service()
        let port = try #require(http.port)
        // Three requests in one write, the last asking to close: three answers in order, then the server closes.
        let answer = try await offThePool {
            try HTTPGet.exchange(
                port: port,
                request:
                    "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                timeoutSeconds: 5)
        }
        let bodies = answer.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix { $0 != "\n" } }
        #expect(bodies == ["ok /a", "ok /b", "ok /c"], "\(answer.debugDescription)")
        #expect(answer.components(separatedBy: "HTTP/1.1 200").count - 1 == 3)
    }

    @Test func idleConnectionsAreClosedAndTheServiceAnswersAgain() async throws {
        let http = try await service(HTTPLimits(maxConnections: 16, idleTimeout: .seconds(1)))
        let port = try #require(http.port)
        let idle = try await silentConnections(16, port: port)
        defer { idle.forEach { close($0) } }
        // Each is closed by the server once idle: the client reads end of file, well within its 5 s receive timeout.
        #expect(try await closedByTheServer(idle) == 16)
        #expect(await eventually { http.openConnections == 0 })
        let answer = try await offThePool {
            try HTTPGet.exchange(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        }
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.hasSuffix("ok /metrics\n"), "\(answer.debugDescription) \(http.openConnections)")
    }

    @Test func withACertificateItServesHTTPSOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (certificate, key) = try await makeTestCertificate(in: directory)
        var logger = Logger(label: "http-test")
        logger.logLevel = .critical
        let http = try await HTTPService(host: "127.0.0.1", port: 0, tls: (certificate, key), logger: logger) { request in
            HTTPAnswer(status: .ok, contentType: "text/plain", body: "ok \(request.path) tls=\(request.isTLS)\n")
        }
        let port = try #require(http.port)
        // A client that trusts the certificate gets the answer over TLS …
        let client = try ChildProcess(
            "/usr/bin/python3",
            [
                "-c",
                "import ssl, sys, urllib.request; c = ssl.create_default_context(cafile=sys.argv[1]); "
                    + "r = urllib.request.urlopen(sys.argv[2], context=c); print(r.headers['Strict-Transport-Security']); "
                    + "print(r.read().decode(), end='')",
                certificate, "https://127.0.0.1:\(port)/healthz",
            ])
        #expect(await client.waitForExit() == 0)
        #expect(client.printed == "max-age=31536000\nok /healthz tls=true\n", "\(client.printed)")
        // … and plain HTTP gets no answer.
        #expect(
            try await offThePool { try HTTPGet.exchange(port: port, request: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") }.contains("ok")
                == false)
    }
}
