import Testing

@testable import VaultCore

@Suite struct DateRulesTests {
    @Test(arguments: [
        ("1987-06-15", "1987-06-15"),
        (" 1987-06-15\n", "1987-06-15"),
        ("2000-02-29", "2000-02-29"),
        ("2024-02-29", "2024-02-29"),
        ("2023-04-30", "2023-04-30"),
        ("2023-12-31", "2023-12-31"),
        ("1000-01-01", "1000-01-01"),
        ("9999-12-31", "9999-12-31"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.date, value, normalized)
    }

    @Test(arguments: [
        ("1900-02-29", "has a day that its month does not have"),
        ("2023-02-29", "has a day that its month does not have"),
        ("2023-04-31", "has a day that its month does not have"),
        ("2023-01-32", "has a day that its month does not have"),
        ("2023-01-00", "has a day that its month does not have"),
        ("2023-13-01", "has a month outside 01 to 12"),
        ("2023-00-10", "has a month outside 01 to 12"),
        ("0999-12-31", "has a year outside 1000 to 9999"),
        ("1987-6-15", "is not in the form YYYY-MM-DD"),
        ("1987/06/15", "is not in the form YYYY-MM-DD"),
        ("19870615", "is not in the form YYYY-MM-DD"),
        ("87-06-15", "is not in the form YYYY-MM-DD"),
        ("1987-06-15T00:00", "is not in the form YYYY-MM-DD"),
        ("+1987-06-15", "is not in the form YYYY-MM-DD"),
        ("10000-01-01", "is not in the form YYYY-MM-DD"),
        ("١٩٨٧-٠٦-١٥", "is not in the form YYYY-MM-DD"),
        (" ", "is blank"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.date, value, reason: reason)
    }

    @Test func leapYears() {
        #expect(DateRules.isLeap(2000) && DateRules.isLeap(2024) && DateRules.isLeap(1600))
        #expect(!DateRules.isLeap(1900) && !DateRules.isLeap(2023) && !DateRules.isLeap(2100))
    }
}
