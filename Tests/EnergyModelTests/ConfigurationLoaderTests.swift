import ConfigurationFiles
import TestSupport
import Testing

@testable import EnergyModel

@Suite struct ConfigurationLoaderTests {
    @Test func shippedConfigurationIsValid() throws {
        let configuration = try ConfigurationLoader.load(path: shippedConfigPath)
        #expect(configuration.daemon.timeZone == "Asia/Shanghai")
        #expect(configuration.daemon.rawRetentionDays == 35)
        #expect(
            Set(configuration.models.keys).isSuperset(of: [
                "chint_dtsu666", "acrel_adw300", "acrel_adl400", "gas_totaliser", "steam_totaliser", "water_totaliser",
                "production_counter_t",
            ]))
        #expect(configuration.enterprises.map(\.id) == ["E01", "E02", "E03", "E04", "E05"], "E05 comes from enterprises.d")
        let dtsu = try #require(configuration.models["chint_dtsu666"])
        let importEnergy = try #require(dtsu.points.first { $0.name == "import_energy" })
        #expect(
            importEnergy.address == 0x401E && importEnergy.type == .f32 && importEnergy.wordOrder == .abcd
                && importEnergy.function == .holding)
        let adw = try #require(configuration.models["acrel_adw300"]?.points.first { $0.name == "forward_energy" })
        #expect(adw.address == 62 && adw.type == .i32 && adw.scale == 0.01)
        let adl = try #require(configuration.models["acrel_adl400"]?.points.first { $0.name == "import_energy" })
        #expect(adl.address == 0x084C && adl.type == .u32 && adl.scale == 0.1)
    }

    static let validBase = """
        [models.m]
        [[models.m.points]]
        name = "e"
        quantity = "consumption"
        unit = "kWh"
        function = 3
        address = 0
        type = "u32"
        kind = "counter"

        [gateways.g]
        host = "127.0.0.1"

        [enterprises.E]
        name = "n"
        jurisdiction = "j"
        industry = "i"
        [[enterprises.E.meters]]
        id = "m1"
        gateway = "g"
        unit_id = 1
        model = "m"
        energy = "electricity"

        """

    func errors(_ text: String, extra: [ConfigSource] = []) -> [String] {
        do {
            _ = try ConfigurationLoader.parse(main: ConfigSource(path: "main.toml", text: text), enterpriseFiles: extra)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func minimalConfigurationIsValid() {
        #expect(errors(Self.validBase) == [])
    }

    @Test(arguments: [
        ("[daemon]\nretention = 3\n", "main.toml:2: daemon.retention: unknown key"),
        ("[daemon]\nraw_retention_days = \"35\"\n", "main.toml:2: daemon.raw_retention_days: expected an integer, found string"),
        (
            "[daemon]\ntime_zone = \"Asia/Nowhere\"\n",
            "main.toml:2: daemon.time_zone: \"Asia/Nowhere\" is not a known time zone (e.g. \"Asia/Shanghai\")"
        ),
        ("[plan]\nbenchmark_compliance = 70\n", "main.toml:2: plan.benchmark_compliance: must be a fraction from 0 to 1 (0.7 is 70 %)"),
        ("[plan]\nfirst_year = 2026\nbase_year = 2026\n", "main.toml:3: plan.base_year: 2026 must be before first_year 2026"),
        ("[plan]\ntarget = 1\n", "main.toml:2: plan.target: unknown key"),
        ("[gateways.h]\nhost = \"x\"\nport = 70000\n", "main.toml:3: gateways.h.port: 70000 is out of range; expected 1…65535"),
        (
            "[gateways.h]\nhost = \"x\"\nprotocol = \"modbus-rtu\"\n",
            "main.toml:3: gateways.h.protocol: \"modbus-rtu\" is not one of \"modbus-tcp\", \"modbus-rtu-over-tcp\", \"dlt645\""
        ),
        ("[gateways.h]\nhost = \"x\"\nbaud_rate = 100\n", "main.toml:3: gateways.h.baud_rate: 100 is out of range; expected 300…921600"),
        (
            "[gateways.h]\nhost = \"127.0.0.1\"\n",
            "main.toml:1: gateways.h: 127.0.0.1:502 is also gateway \"g\"; one connection per gateway means one entry per address"
        ),
        (
            "[[enterprises.E.meters]]\nid = \"m2\"\ngateway = \"g\"\nunit_id = 1\nmodel = \"m\"\nenergy = \"electricity\"\n",
            "main.toml:2: enterprises.E.meters[1].unit_id: unit id 1 on gateway \"g\" is already used by meter \"m1\""
        ),
        (
            "[[enterprises.E.meters]]\nid = \"m2\"\ngateway = \"g\"\nunit_id = 2\nmodel = \"nope\"\nenergy = \"electricity\"\n",
            "main.toml:5: enterprises.E.meters[1].model: unknown model \"nope\""
        ),
        (
            "[[enterprises.E.meters]]\nid = \"m2\"\ngateway = \"g\"\nunit_id = 2\nmodel = \"m\"\nenergy = \"electricity\"\ninterval_s = 0\n",
            "main.toml:7: enterprises.E.meters[1].interval_s: 0 is out of range; expected 1…86400"
        ),
        (
            "[[enterprises.E.meters]]\nid = \"m2\"\ngateway = \"g\"\nunit_id = 2\nmodel = \"m\"\nenergy = \"natural_gas\"\n",
            "main.toml:2: enterprises.E.meters[1].energy: point \"e\" of model \"m\" counts kWh, which cannot be accounted as natural_gas (m3)"
        ),
        (
            "[[models.m.points]]\nname = \"f\"\nquantity = \"power\"\nunit = \"kW\"\nfunction = 3\naddress = 1\ntype = \"f32\"\nkind = \"gauge\"\n",
            "main.toml:6: models.m.points[1].address: registers 1…2 overlap point \"e\" (0…1) of the same function"
        ),
        (
            "[[models.m.points]]\nname = \"f\"\nquantity = \"power\"\nunit = \"kW\"\nfunction = 6\naddress = 65535\ntype = \"f32\"\nkind = \"gauge\"\n",
            "main.toml:5: models.m.points[1].function: expected 3 or 4"
        ),
    ])
    func reportsFileLineKeyAndProblem(addition: String, expected: String) {
        // Additions go after the valid base, so their lines are offset by its length.
        let baseLines = Self.validBase.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        let found = errors(Self.validBase + addition).map { error -> String in
            // Re-base line numbers onto the addition so the cases read naturally.
            let parts = error.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, let line = Int(parts[1]), line > baseLines else { return error }
            return "\(parts[0]):\(line - baseLines):\(parts[2])"
        }
        #expect(found.contains(expected), "\(found)")
    }

    @Test func aGatewayBehindASerialServerSaysItsProtocolAndLineSpeed() throws {
        let text =
            Self.validBase + "[gateways.rtu]\nhost = \"10.0.0.9\"\nport = 4001\nprotocol = \"modbus-rtu-over-tcp\"\nbaud_rate = 2400\n"
        let configuration = try ConfigurationLoader.parse(main: ConfigSource(path: "main.toml", text: text))
        #expect(configuration.gateways["rtu"]?.wire == .modbusRTUOverTCP && configuration.gateways["rtu"]?.baudRate == 2400)
        #expect(configuration.gateways["g"]?.wire == .modbusTCP, "Modbus TCP unless said otherwise")
    }

    @Test func dlt645MetersAreAddressedAndMappedTheWayTheirGatewaySpeaks() {
        let text = """
            [models.m]
            [[models.m.points]]
            name = "e"
            quantity = "consumption"
            unit = "kWh"
            function = 3
            address = 0
            type = "u32"
            kind = "counter"

            [models.d]
            [[models.d.points]]
            name = "e"
            quantity = "consumption"
            data_id = "00010000"
            unit = "kvarh"
            kind = "counter"
            [[models.d.points]]
            name = "x"
            quantity = "other"
            data_id = "04000101"
            kind = "gauge"
            [[models.d.points]]
            name = "y"
            quantity = "other"
            data_id = "0001000"
            kind = "gauge"

            [gateways.g]
            host = "127.0.0.1"

            [gateways.d]
            host = "127.0.0.2"
            protocol = "dlt645"
            wake_up_bytes = 5

            [enterprises.E]
            name = "n"
            jurisdiction = "j"
            industry = "i"
            [[enterprises.E.meters]]
            id = "m1"
            gateway = "g"
            unit_id = 1
            model = "m"
            energy = "electricity"
            [[enterprises.E.meters]]
            id = "m2"
            gateway = "d"
            unit_id = 2
            model = "m"
            energy = "electricity"
            [[enterprises.E.meters]]
            id = "m3"
            gateway = "d"
            meter_address = "12345"
            model = "m"
            energy = "electricity"
            [[enterprises.E.meters]]
            id = "m4"
            gateway = "g"
            meter_address = "123456789012"
            model = "m"
            energy = "electricity"
            """
        let expected = [
            "main.toml:16: models.d.points[0].unit: data item 00010000 is written in kWh, not kvarh",
            "main.toml:21: models.d.points[1].data_id: 04000101 is not a data item energyd reads (energy 000x0000 and per tariff "
                + "000x0100…, power 0203xx00, power factor 0206xx00, voltage 0201xx00, current 0202xx00)",
            "main.toml:26: models.d.points[2].data_id: \"0001000\" is not a data identifier; expected eight hexadecimal digits, DI3 "
                + "first (\"00010000\")",
            "main.toml:35: gateways.d.wake_up_bytes: 5 is out of range; expected 0…4",
            "main.toml:48: enterprises.E.meters[1].meter_address: gateway \"d\" speaks dlt645: its meters need a twelve-digit "
                + "meter_address, not a unit_id",
            "main.toml:48: enterprises.E.meters[1].model: model \"m\" is read by Modbus registers, but gateway \"d\" speaks dlt645",
            "main.toml:54: enterprises.E.meters[2].model: model \"m\" is read by Modbus registers, but gateway \"d\" speaks dlt645",
            "main.toml:56: enterprises.E.meters[2].meter_address: \"12345\" is not a DL/T 645 address; expected twelve decimal digits",
            "main.toml:60: enterprises.E.meters[3].meter_address: gateway \"g\" speaks modbus-tcp: its meters need a unit_id; "
                + "meter_address is for dlt645",
        ]
        #expect(errors(text) == expected)
    }

    @Test func theShippedDLT645MeterReadsDataItemsBehindItsTransformers() throws {
        let configuration = try ConfigurationLoader.load(path: shippedConfigPath)
        let meter = try #require(configuration.meters.map(\.meter).first { $0.id == "E05-power" })
        #expect(configuration.gateways[meter.gateway]?.wire == .dlt645 && meter.meterAddress == "230100000051" && meter.ctRatio == 20)
        let energy = try #require(configuration.models[meter.model]?.points.first { $0.quantity == .consumption })
        #expect(energy.dataItem?.identifier == 0x0001_0000 && energy.unit == "kWh")
        #expect(meter.primaryWrap(of: energy) == 20_000_000, "999 999.99 kWh on the display, times 20")
    }

    @Test func reportsEveryErrorNotJustTheFirst() {
        let text = """
            [daemon]
            colour = 1
            [gateways.g]
            port = 1
            """
        #expect(
            errors(text) == [
                "main.toml:2: daemon.colour: unknown key",
                "main.toml:3: gateways.g.host: missing; this key is required",
            ])
    }

    @Test func enterpriseFilesAreValidatedWithTheirOwnNames() {
        let extra = ConfigSource(
            path: "enterprises.d/e2.toml",
            text: """
                [enterprises.E]
                name = "dup"
                jurisdiction = "j"
                industry = "i"
                [daemon]
                database = "x"
                """)
        let found = errors(Self.validBase, extra: [extra])
        #expect(
            found.contains("enterprises.d/e2.toml:1: enterprises.E: enterprise \"E\" is defined again (first at main.toml:14)"), "\(found)")
        #expect(found.contains("enterprises.d/e2.toml:5: daemon: [daemon] belongs in the main configuration file only"), "\(found)")
    }

    @Test func fiveThousandGatewaysAreAcceptedAndTheirSpreadIsRead() {
        var text = "[daemon]\nmax_start_spread_ms = 900\n"
        for index in 0..<5000 {
            text += "[gateways.g\(index)]\nhost = \"10.\(index / 250).\(index % 250).1\"\n"
        }
        #expect(errors(text).isEmpty, "no gateway ceiling: only the unit's LimitNOFILE bounds the sockets")
        #expect(errors("[daemon]\nmax_start_spread_ms = -1\n").count == 1)
    }
}

@Suite struct ConfigurationRoundTripTests {
    @Test func writtenConfigurationReadsBackTheSame() throws {
        let shipped = try ConfigurationLoader.load(path: shippedConfigPath)
        var flattened = shipped
        flattened.daemon.enterpriseDirectory = nil
        flattened.daemon.quotaLibrary = nil
        let gateway = try #require(flattened.gateways.keys.sorted().first)
        flattened.gateways[gateway]?.wire = .modbusRTUOverTCP
        flattened.gateways[gateway]?.baudRate = 4800
        let text = ConfigurationWriter.toml(flattened)
        let reread = try ConfigurationLoader.parse(main: ConfigSource(path: "written.toml", text: text))
        #expect(reread == flattened)
        #expect(reread.quotas.count == 9 && reread.enterprises.flatMap(\.products).count == 5)
    }

    @Test func productsAreCheckedAgainstTheirQuotaAndEnterprise() throws {
        var configuration = try ConfigurationLoader.load(path: shippedConfigPath)
        configuration.daemon.enterpriseDirectory = nil
        configuration.daemon.quotaLibrary = nil
        configuration.enterprises[0].products[0].boundary.append("E02-coal")
        configuration.enterprises[0].products[0].corrections = ["thickness": 1.1]
        configuration.enterprises[1].products[0].quota = "gb21252_dry_pressed_tile"
        configuration.enterprises[2].products[0].productionMeter = "E03-power"
        let text = ConfigurationWriter.toml(configuration)
        var messages: [String] = []
        do {
            _ = try ConfigurationLoader.parse(main: ConfigSource(path: "c.toml", text: text))
        } catch {
            messages = error.errors.map(\.message)
        }
        #expect(messages.contains("\"E02-coal\" is not a meter of this enterprise"))
        #expect(messages.contains("quota \"gb16780_clinker\" allows no \"thickness\" correction (allowed: altitude)"))
        #expect(messages.contains("quota \"gb21252_dry_pressed_tile\" is for dry_pressed_tile, not clinker"))
        #expect(messages.contains("\"E03-power\" does not count dry_pressed_tile"))
        #expect(messages.count == 4, "\(messages)")
    }
}
