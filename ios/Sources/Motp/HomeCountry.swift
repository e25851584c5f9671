import Foundation

/// The handset's home country for `MotpConfig.homeCountry`, which the core
/// needs to read numbers shown in national form.
///
/// iOS no longer tells apps the SIM's country (`CTCarrier` is deprecated
/// and returns placeholders), so the device's region setting is the best
/// signal. Let the user correct it where your app asks for the number.
public enum HomeCountry {
    /// The ISO 3166 alpha-2 region of `locale` (`"GB"` for `en_GB`), or nil
    /// when it has none or it is not a country (`es_419`, Latin America).
    public static func fromLocale(_ locale: Locale = .current) -> String? {
        let region: String?
        if #available(iOS 16, macOS 13, *) {
            region = locale.region?.identifier
        } else {
            region = locale.regionCode
        }
        guard let region, region.count == 2,
              region.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return nil }
        return region.uppercased()
    }
}
