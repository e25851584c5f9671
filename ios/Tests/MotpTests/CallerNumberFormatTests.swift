@testable import Motp
import XCTest

// The layout is the core's `displayCaller` (libphonenumber's formats,
// tested in Rust for every region); these tests check the adapter around
// it: the text it builds from the cells, the forms, the fallback and what
// VoiceOver reads. They need the Rust library (`MOTP_LOCAL_FRAMEWORK=1
// swift test`).
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

    func testGroupsDigitsAsLibphonenumberDoes() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+12015550", codeLength: 3), "+1 201-555-0___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+447700900", codeLength: 3), "+44 7700 900___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+441134960", codeLength: 3), "+44 113 496 0___")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+3319900", codeLength: 4, typed: "1"), "+33 1 99 00 1_ __")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+749512345", codeLength: 2), "+7 495 123-45-__")
    }

    func testNationalFormForANumberOfTheHomeCountry() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, homeCountry: "GB"), "020 7946 0___")
        XCTAssertEqual(
            CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, typed: "12", homeCountry: "GB"),
            "020 7946 012_"
        )
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+12015550", codeLength: 3, homeCountry: "US"), "(201) 555-0___")
        XCTAssertTrue(CallerNumberFormat.display(prefix: "+442079460", codeLength: 3, homeCountry: "GB").national)
        // A number from elsewhere stays international.
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 3, homeCountry: "US"), "+44 20 7946 0___")
        XCTAssertFalse(CallerNumberFormat.display(prefix: "+442079460", codeLength: 3, homeCountry: "US").national)
    }

    func testIgnoresSeparatorsInThePrefixAndNonDigitsInWhatIsTyped() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+44 20 7946-0", codeLength: 3, typed: "1a2"), "+44 20 7946 012_")
    }

    func testCellsAreTheCoresDigitsTextAndCodeSlots() {
        let shown = CallerNumberFormat.display(prefix: "+442079460", codeLength: 3, typed: "7")
        XCTAssertEqual(Array(shown.cells.prefix(4)), [.text(text: "+"), .digit(digit: 4), .digit(digit: 4), .text(text: " ")])
        XCTAssertEqual(
            Array(shown.cells.suffix(4)),
            [.digit(digit: 0), .code(index: 0, typed: 7), .code(index: 1, typed: nil), .code(index: 2, typed: nil)]
        )
    }

    func testAPrefixTheCoreCannotReadIsShownUngrouped() {
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+4402079460", codeLength: 3, typed: "1"), "+44020794601__")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: 0), "+442079460")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "+442079460", codeLength: -1), "+442079460")
        XCTAssertEqual(CallerNumberFormat.format(prefix: "", codeLength: 0), "")
    }

    func testCallingCode() {
        XCTAssertEqual(CallerNumberFormat.callingCode(prefix: "+12015550", codeLength: 3), "1")
        XCTAssertEqual(CallerNumberFormat.callingCode(prefix: "+749512345", codeLength: 2), "7")
        XCTAssertEqual(CallerNumberFormat.callingCode(prefix: "+442079460", codeLength: 3), "44")
        XCTAssertEqual(CallerNumberFormat.callingCode(prefix: "+3584012345", codeLength: 2), "358")
        XCTAssertNil(CallerNumberFormat.callingCode(prefix: "442079460", codeLength: 3))
    }

    func testSpokenPrefixReadsDigitsOneByOneInGroups() {
        XCTAssertEqual(CallerNumberFormat.spokenPrefix("+442079460", codeLength: 3), "+4 4, 2 0, 7 9 4 6, 0")
        XCTAssertEqual(CallerNumberFormat.spokenPrefix("+447700900", codeLength: 3), "+4 4, 7 7 0 0, 9 0 0")
        XCTAssertEqual(CallerNumberFormat.spokenPrefix("+12015550", codeLength: 3), "+1, 2 0 1, 5 5 5, 0")
        XCTAssertEqual(CallerNumberFormat.spokenPrefix("+442079460", codeLength: 3, homeCountry: "GB"), "0 2 0, 7 9 4 6, 0")
    }
}
