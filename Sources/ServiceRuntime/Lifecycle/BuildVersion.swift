/// The version of this build, the same for every executable it makes: what `--version` prints,
/// System.Health answers and `crm_build_info` reports.
public enum BuildVersion {
    public static let current = "0.4.0"
}
