import ConfigurationFiles
import EnergyModel
import TestSupport
import Testing

/// One check for production figures, whichever way they are entered.
@Suite struct ProductionFigureTests {
    static let configuration = try! ConfigurationLoader.load(path: shippedConfigPath)

    @Test(
        arguments: [
            ("E05", "dyed_fabric", "2026-01-02", 12.5, nil),
            ("E99", "dyed_fabric", "2026-01-02", 1, "no enterprise E99"),
            ("E05", "cement", "2026-01-02", 1, "E05 has no product cement"),
            ("E05", "dyed_fabric", "2026-02-30", 1, "date 2026-02-30 is not a date YYYY-MM-DD"),
            ("E05", "dyed_fabric", "", 1, "date  is not a date YYYY-MM-DD"),
            ("E05", "dyed_fabric", "2026-01-02", -1, "quantity must be a number ≥ 0"),
            ("E05", "dyed_fabric", "2026-01-02", .nan, "quantity must be a number ≥ 0"),
            ("E05", "dyed_fabric", "2026-01-02", .infinity, "quantity must be a number ≥ 0"),
        ] as [(String, String, String, Double, String?)])
    func aFigureIsRecordedOnlyWhenEveryPartFits(enterprise: String, product: String, date: String, quantity: Double, problem: String?)
        throws
    {
        do {
            let figure = try ProductionFigure.checked(
                enterprise: enterprise, product: product, date: date, quantity: quantity, in: Self.configuration)
            #expect(problem == nil)
            // Local midnight of 2 January in Asia/Shanghai.
            #expect(figure.dayMs == 1_767_283_200_000 && figure.quantity == quantity)
        } catch {
            #expect(problem.map { error.description.hasPrefix($0) } == true, "\(error.description)")
        }
    }
}
