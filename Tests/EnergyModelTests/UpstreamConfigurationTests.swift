import ConfigurationFiles
import Foundation
import Testing

@testable import EnergyModel

/// `[[upstream]]` and the site's id: read, and checked with FILE:LINE errors naming the key.
@Suite struct UpstreamConfigurationTests {
    func load(_ text: String) -> (EnergyConfiguration?, [String]) { loadOnValidBase(text) }

    func line(of needle: String, in text: String) -> Int { lineOnValidBase(of: needle, in: text) }

    @Test func destinationsAndTheSiteAreRead() throws {
        let (configuration, errors) = load(
            """

            [daemon]
            site_id = "suqian-sucheng"
            site_name = "宿城区"
            rollup_retention_days = 730

            [[upstream]]
            name = "city"
            type = "postgres"
            host = "127.0.0.1"
            database = "energy"
            user = "energyd"
            password = "pw"
            interval_s = 30

            [[upstream]]
            name = "province"
            type = "https"
            url = "https://platform.example.gov.cn/upload"
            auth = "bearer"
            token = "t0ken"
            """)
        #expect(errors == [])
        let c = try #require(configuration)
        #expect(c.daemon.siteID == "suqian-sucheng" && c.daemon.siteName == "宿城区" && c.daemon.rollupRetentionDays == 730)
        #expect(c.upstream.map(\.name) == ["city", "province"])
        #expect(c.upstream[0].kind == .postgres && c.upstream[0].port == 5432 && c.upstream[0].intervalSeconds == 30)
        #expect(c.upstream[0].target == "postgres://energyd@127.0.0.1:5432/energy", "no password in the target")
        #expect(c.upstream[1].auth == .bearer && c.upstream[1].secret == "t0ken" && c.upstream[1].format == .energyMonitorV1)
        // What the writer renders reads back the same.
        let again = try ConfigurationLoader.parse(main: ConfigSource(path: "again.toml", text: ConfigurationWriter.toml(c)))
        #expect(again.upstream == c.upstream && again.daemon.siteID == c.daemon.siteID)
    }

    @Test func mistakesAreNamedByFileLineAndKey() {
        let text = """

            [daemon]
            rollup_retention_days = 90

            [[upstream]]
            name = "city"
            type = "postgres"
            host = "10.0.0.5"
            database = "energy"
            user = "energyd"
            tls = "disable"

            [[upstream]]
            name = "city"
            type = "https"
            url = "http://platform.example.gov.cn/upload"
            secret = "s"
            colour = "blue"
            """
        let (_, errors) = load(text)
        let upstreamLine = line(of: "[[upstream]]", in: text)
        #expect(
            errors.contains("main.toml:\(upstreamLine): daemon.site_id: [[upstream]] needs the site's id in [daemon] site_id"), "\(errors)")
        #expect(
            errors.contains {
                $0.hasPrefix("main.toml:\(line(of: "rollup_retention_days", in: text)): daemon.rollup_retention_days: 90 is out of range")
            })
        #expect(errors.contains { $0.hasPrefix("main.toml:\(line(of: "tls = ", in: text)): upstream[0].tls: \"disable\" sends figures") })
        #expect(errors.contains { $0.contains("upstream[1].name: another [[upstream]] is named \"city\"") })
        #expect(
            errors.contains { $0.hasPrefix("main.toml:\(line(of: "url = \"http:", in: text)): upstream[1].url:") && $0.contains("https") })
        #expect(errors.contains("main.toml:\(line(of: "colour", in: text)): upstream[1].colour: unknown key"), "\(errors)")
    }
}
