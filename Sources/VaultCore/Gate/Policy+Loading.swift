import Foundation

extension Policy {
    /// The largest policy file read. Policies are small; the cap keeps a mistaken path (a log, a disk
    /// image) from being read into memory whole.
    public static let maxFileBytes = 1 << 20

    /// Every problem in `yaml`, in file order; empty when it is a valid policy. `file` names the file in
    /// each problem's description.
    public static func check(yaml: String, file: String = "policy.yaml") -> [PolicyProblem] {
        PolicyParser.parse(yaml: yaml, file: file).problems
    }

    /// The policy in `yaml`, or a `.policy` error listing every problem with its line.
    public static func parse(yaml: String, file: String = "policy.yaml") throws(VaultError) -> Policy {
        let (policy, problems) = PolicyParser.parse(yaml: yaml, file: file)
        guard let policy, problems.isEmpty else { throw VaultError.policyProblems(problems, file: file) }
        return policy
    }

    /// Reads and checks the policy file at `path`.
    ///
    /// Fails with `.policy` if the file cannot be read, is not UTF-8 or has any problem, and with
    /// `.permissions` if group or others may write it or it is owned by someone other than root or the
    /// server's user: whoever can write the policy can grant themselves every value in the vault, so such a
    /// file is not trusted.
    public static func load(path: String) throws(VaultError) -> Policy {
        try loadHashed(path: path).policy
    }

    /// Like `load(path:)`, with the hex SHA-256 of exactly the bytes that were parsed (read once): what the
    /// `policy_load` audit record names, comparable with `sha256sum FILE`.
    public static func loadHashed(path: String) throws(VaultError) -> (policy: Policy, sha256: String) {
        let (text, bytes) = try readFileBytes(path)
        return (try parse(yaml: text, file: path), Hex.encode(SHA256.hash(bytes)))
    }

    /// Every problem in the file at `path` (for `cvault policy check`), after the same file checks as
    /// `load(path:)`, which throw: a file the server would not even read has no line to point at.
    public static func check(path: String) throws(VaultError) -> [PolicyProblem] {
        check(yaml: try readFile(path), file: path)
    }

    /// The file's text, after the permission and size checks.
    static func readFile(_ path: String) throws(VaultError) -> String {
        try readFileBytes(path).text
    }

    /// The file's text and the bytes it was decoded from, after the permission and size checks.
    static func readFileBytes(_ path: String) throws(VaultError) -> (text: String, bytes: [UInt8]) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            throw VaultError(
                .policy,
                "cannot read policy \(path): \(reason)",
                hint: "check the path; write the policy there or point the server at it"
            )
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw VaultError(.policy, "policy \(path) is not a regular file", hint: "point at the YAML file itself")
        }
        // Like sshd's StrictModes: the owner can always chmod and rewrite the file, so only root or the
        // server's own user may own it.
        guard info.st_uid == 0 || info.st_uid == geteuid() else {
            throw VaultError(
                .permissions,
                "policy \(path) is owned by uid \(info.st_uid), not by root or the server's user",
                hint: "run `chown root \(path)`: whoever owns the policy can grant any access"
            )
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw VaultError(
                .permissions,
                "policy \(path) is writable by group or others (mode \(mode))",
                hint: "run `chmod go-w \(path)`: whoever can write the policy can grant any access"
            )
        }
        guard info.st_size <= maxFileBytes else {
            throw VaultError(
                .policy,
                "policy \(path) is larger than the \(maxFileBytes) bytes allowed",
                hint: "check the path: a policy is a small YAML file"
            )
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw VaultError(
                .policy,
                "cannot read policy \(path): \(error.localizedDescription)",
                hint: "check that the server's user can read it"
            )
        }
        // Checked again: the file may have grown since `stat`.
        guard data.count <= maxFileBytes else {
            throw VaultError(
                .policy,
                "policy \(path) is larger than the \(maxFileBytes) bytes allowed",
                hint: "check the path: a policy is a small YAML file"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw VaultError(.policy, "policy \(path) is not valid UTF-8", hint: "save it as UTF-8 text")
        }
        return (text, [UInt8](data))
    }
}
