import VaultCore

/// What the writer remembers within one group's transaction: the audit chain's head and last seal, and the
/// last token id handed out. Every job of a group appends to the chain, and re-reading the head (with its
/// whole body) for each one was a needless query and copy. Safe because the group holds the write lock from
/// its start to its commit (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory transaction lock), so nothing else
/// can append or insert meanwhile; a job rolled back to its savepoint forgets the chain's tail (`forgetAudit`),
/// and a new group starts with an empty memory.
public final class GroupMemory {
    public init() {}

    /// `.some(nil)`: known to be empty; `nil`: not known.
    public var head: AuditRow??
    public var seal: AuditSeal??
    /// The last id `nextTokenID` returned. Kept when a job rolls back: ids it took are skipped, never reused
    /// within the group.
    public var lastTokenID: Int64?
    /// Subject-index entries the group's appends left pending (`SubjectIndex`); counted on for the merge.
    public var subjectIndexEntries = 0
    /// The stored keyring's generation (PostgreSQL, whose keyring lives in the database), read once per group:
    /// the group holds the writers' lock, so only a write of its own can change it, and that write forgets it.
    public var keyringGeneration: Int??

    public func forgetAudit() {
        head = nil
        seal = nil
    }
}

extension GroupMemory {
    /// What `read` answers, asked once per group: `memory` keeps it (and what the group appends after it).
    /// Readers, with no group, always ask.
    @inlinable
    public static func remembered<T>(
        in memory: GroupMemory?,
        _ keyPath: ReferenceWritableKeyPath<GroupMemory, T??>,
        _ read: () throws -> T?
    ) throws -> T? {
        if let known = memory?[keyPath: keyPath] { return known }
        let value = try read()
        memory?[keyPath: keyPath] = .some(value)
        return value
    }
}
