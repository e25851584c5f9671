@testable import Motp
import XCTest

final class HomeCountryTests: XCTestCase {
    func testRegionOfTheLocale() {
        XCTAssertEqual(HomeCountry.fromLocale(Locale(identifier: "en_GB")), "GB")
        XCTAssertEqual(HomeCountry.fromLocale(Locale(identifier: "pt_BR")), "BR")
    }

    func testRegionsThatAreNotCountriesGiveNil() {
        XCTAssertNil(HomeCountry.fromLocale(Locale(identifier: "es_419")))
    }
}
