/// Chinese names of the product and industry codes configurations use, for Chinese pages and sheets; a code
/// without a name here is shown as written.
public enum DomainNames {
    static let products: [String: String] = [
        "clinker": "水泥熟料", "cement": "水泥", "flat_glass": "平板玻璃", "pv_rolled_glass": "光伏压延玻璃",
        "dry_pressed_tile": "干压陶瓷砖", "sanitary_ware": "卫生陶瓷", "dyed_fabric": "印染布", "eaf_steel": "电炉钢",
        "converter_steel": "转炉钢", "coke": "焦炭", "ammonia": "合成氨", "caustic_soda": "烧碱", "paper": "纸",
    ]

    static let industries: [String: String] = [
        "cement": "水泥", "ceramics": "陶瓷", "glass": "玻璃", "textiles": "纺织印染", "textile": "纺织印染", "steel": "钢铁",
        "chemicals": "化工", "paper": "造纸", "building_materials": "建材",
    ]

    /// "水泥熟料" for "clinker" in Chinese; the code itself in English or when unknown.
    public static func product(_ code: String, zh: Bool) -> String { zh ? products[code] ?? code : code }

    /// "陶瓷" for "ceramics" in Chinese; the code itself in English or when unknown.
    public static func industry(_ code: String, zh: Bool) -> String { zh ? industries[code] ?? code : code }

    /// An energy type's Chinese name for its code ("原煤" for "raw_coal"); the code in English or when unknown.
    public static func energy(_ code: String, zh: Bool) -> String { zh ? EnergyType(rawValue: code)?.chineseName ?? code : code }
}
