@testable import Motp
import XCTest

// The same cases as the Android SDK's tests: both platforms must show a
// number the same way.
final class CallerNumberFormatTests: XCTestCase {
    func testShowsTheKnownPrefixWithASlotPerCodeDigit() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3), "+44 20 7946 0___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, typed: "12"), "+44 20 7946 012_")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, typed: "1234567"), "+44 20 7946 0123")
        XCTAssertEqual(
            CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, placeholder: "•"),
            "+44 20 7946 0•••"
        )
    }

    func testGroupsDigitsTheWayEachCountryWritesThem() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+12015550", codeLength: 3), "+1 201 555 0___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+447700900", codeLength: 3), "+44 7700 900___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+441134960", codeLength: 3), "+44 113 496 0___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+3319900", codeLength: 4, typed: "1"), "+33 1 99 00 1_ __")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+749512345", codeLength: 2), "+7 495 123 45 __")
        // Unlisted country (+358 Finland): groups of three after a 3-digit code.
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+3584012345", codeLength: 2), "+358 401 234 5__")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "", codeLength: 0), "")
    }

    func testIgnoresSeparatorsAndLettersInWhatItIsGiven() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+44 20 7946-0", codeLength: 3, typed: "1a2"), "+44 20 7946 012_")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: -1), "+44 20 7946 0")
    }

    func testTellsFixedTypedAndEmptyCellsApart() {
        let groups = CallerNumberFormat.groups(prefix: "+442079460", codeLength: 3, typed: "7")
        XCTAssertEqual(groups.count, 4)
        XCTAssertEqual(groups[0], [.fixed("+"), .fixed("4"), .fixed("4")])
        XCTAssertEqual(groups[3], [.fixed("0"), .typed("7"), .empty, .empty])
    }

    func testCountryCodeLength() {
        XCTAssertEqual(CallerNumberFormat.countryCodeLength("12015550"), 1)
        XCTAssertEqual(CallerNumberFormat.countryCodeLength("7495"), 1)
        XCTAssertEqual(CallerNumberFormat.countryCodeLength("4420"), 2)
        XCTAssertEqual(CallerNumberFormat.countryCodeLength("35840"), 3)
        XCTAssertEqual(CallerNumberFormat.countryCodeLength("971501"), 3)
        XCTAssertEqual(CallerNumberFormat.countryCodeLength("3"), 1)
    }

    func testSpokenPrefixReadsDigitsOneByOneInGroups() {
        XCTAssertEqual(CallerNumberFormat.spokenPrefix("+442079460", codeLength: 3), "+4 4, 2 0, 7 9 4 6, 0")
        XCTAssertEqual(CallerNumberFormat.spokenPrefix("+447700900", codeLength: 3), "+4 4, 7 7 0 0, 9 0 0")
    }
}
