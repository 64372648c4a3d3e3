import Testing

@testable import VaultCore

@Suite struct SSNRulesTests {
    @Test(arguments: [
        ("123-45-6789", "123-45-6789"),
        ("123456789", "123-45-6789"),
        (" 078-05-1120 ", "078-05-1120"),
        ("001-01-0001", "001-01-0001"),
        ("665-12-3456", "665-12-3456"),
        ("667123456", "667-12-3456"),
        ("899-99-9999", "899-99-9999"),
    ])
    func accepts(value: String, normalized: String) {
        ValueCheck.expectNormalized(.ssn, value, normalized)
    }

    @Test(arguments: [
        ("000-12-3456", "area number (first three digits) of 000, 666 or 900 to 999"),
        ("666-12-3456", "area number (first three digits) of 000, 666 or 900 to 999"),
        ("666123456", "area number (first three digits) of 000, 666 or 900 to 999"),
        ("900-12-3456", "area number (first three digits) of 000, 666 or 900 to 999"),
        ("999-99-9999", "area number (first three digits) of 000, 666 or 900 to 999"),
        ("123-00-4567", "group number (middle two digits) 00"),
        ("123-45-0000", "serial number (last four digits) 0000"),
        ("12-345-6789", "not in the form ddd-dd-dddd or ddddddddd"),
        ("123 45 6789", "not in the form ddd-dd-dddd or ddddddddd"),
        ("12345678", "not in the form ddd-dd-dddd or ddddddddd"),
        ("1234567890", "not in the form ddd-dd-dddd or ddddddddd"),
        ("123-456789", "not in the form ddd-dd-dddd or ddddddddd"),
        ("abc-de-fghi", "not in the form ddd-dd-dddd or ddddddddd"),
        ("１２３-45-6789", "not in the form ddd-dd-dddd or ddddddddd"),
        (" ", "is blank"),
    ])
    func rejects(value: String, reason: String) {
        ValueCheck.expectRejected(.ssn, value, reason: reason)
    }
}
