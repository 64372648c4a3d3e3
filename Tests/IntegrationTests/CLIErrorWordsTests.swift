import Testing

/// The domain names an operator's input by what it is; the CLI says which flag gives it. These pin the CLI's
/// words for each such error, as the operator reads them.
@Suite struct CLIErrorWordsTests {
    @Test("a rewrap batch out of range names --batch")
    func rewrapBatch() async throws {
        try await VaultFixture.with { vault in
            let run = try await vault.cvault("keys", "rewrap", "--batch", "0")
            #expect(run.status == 1)
            #expect(run.errorLines == ["cvault: error: --batch must be 1 to 10000"])
            #expect(run.hintLines == ["cvault: hint: the default is 500"])
        }
    }

    @Test("shares out of range name --shares and --threshold")
    func shareCounts() async throws {
        try await VaultFixture.with(initialized: false) { vault in
            let run = try await vault.cvault(
                ["init", "--shares", "17", "--threshold", "3", "--share-dir", vault.root + "/shares"],
                environment: ["CVAULT_PASSPHRASE": nil]
            )
            #expect(run.status == 1)
            #expect(
                run.errorLines == [
                    "cvault: error: shares must be 2 to 16 with a threshold from 2 to the number of shares"
                ]
            )
            #expect(run.hintLines == ["cvault: hint: for example --shares 5 --threshold 3"])
        }
    }
}
