/// The release of energy-monitor these programs belong to: `--version`, the Debian package (deploy/build-deb.sh
/// reads it here), the figures shipped upstream.
public enum EnergyMonitorRelease {
    /// Major.minor.patch.
    public static let version = "0.9.0"
}
