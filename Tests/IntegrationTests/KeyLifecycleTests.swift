import Foundation
import Testing

/// The key lifecycle on a real vault of 100,000 values across 10,000 subjects, served by a real `cvault serve`
/// while other `cvault` processes rotate, rewrap (killed half-way), retire, change the passphrase and back
/// up. One vault for the whole suite (built by `.largeVault`); the tests run in this order, each on what
/// the previous ones left, and each also works alone. The steps live in the KeyLifecycle*.swift files.
@Suite(.serialized, .largeVault) struct KeyLifecycleTests {
    var vault: LargeVault { get throws { try #require(LargeVault.current, "the suite needs the .largeVault trait") } }

    @Test func theVaultHoldsAHundredThousandValuesAcrossTenThousandSubjects() async throws {
        try await checkTheBuiltVault(vault)
    }

    @Test func rotationUnderLiveTrafficFailsNoRequest() async throws {
        try await rotateUnderLiveTraffic(vault)
    }

    @Test func rewrapKilledAtRandomPointsResumesAndLosesNothing() async throws {
        try await rewrapKilledThenCompleted(vault)
    }

    @Test func retireIsRefusedWhileInUseAndForTheActiveVersion() async throws {
        try await retireOnlyWhenUnused(vault)
    }

    @Test func rotateTokenKeyKeepsOldTokensAndChangesNewOnes() async throws {
        try await rotateTokenKey(vault)
    }

    @Test func passphraseChangeKilledAtRandomPointsNeverLocksTheVault() async throws {
        try await passphraseChangeKilled(vault)
    }

    @Test func backupDuringWritesRestoresAndVerifies() async throws {
        try await backupDuringWrites(vault)
    }

    @Test func everyTokenStillDetokenizesAtTheEnd() async throws {
        try await everyTokenDetokenizes(vault)
    }

    @Test func everyKeyOperationIsAuditedAndTheLogVerifies() async throws {
        try await keyOperationsAreAudited(vault)
    }
}
