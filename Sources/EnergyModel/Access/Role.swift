/// What an account may see and do.
public enum Role: String, Sendable, CaseIterable, Codable {
    /// The district's inspection team: everything.
    case inspector
    /// A town's or park's office: the enterprises of its towns/parks.
    case jurisdiction
    /// An enterprise's energy manager: its own enterprise, and its production figures to enter.
    case enterprise
    /// Manages accounts and reads the audit log; sees everything.
    case admin
}
