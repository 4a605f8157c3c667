import Foundation

/// The package's root directory, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The configuration shipped in Config/.
let shippedConfigPath = packageRoot + "/Config/energyd.toml"
