package dev.motp.android

import android.content.Context
import android.telephony.TelephonyManager
import java.util.Locale

/**
 * The handset's home country (ISO 3166 alpha-2, upper case), which the core
 * needs to read caller IDs presented in national form (`020 7946 0123`).
 *
 * The SIM's country is where the number belongs and is tried first; the
 * network's country comes next (right unless roaming, and available on
 * phones whose SIM reports nothing); the locale is the last resort (on a
 * tablet without SIM, or when the user set the region in the system
 * settings). None of these needs a permission.
 */
public object HomeCountry {

    /** The best guess from [context], or null when no source names a country. */
    @JvmStatic
    public fun detect(context: Context): String? {
        val telephony = context.getSystemService(TelephonyManager::class.java)
        return choose(
            sim = telephony?.simCountryIso,
            network = telephony?.networkCountryIso,
            locale = Locale.getDefault().country,
        )
    }

    /** The first of [sim], [network], [locale] that is a two-letter code. */
    @JvmStatic
    public fun choose(sim: String?, network: String?, locale: String?): String? =
        sequenceOf(sim, network, locale)
            .mapNotNull { it?.trim() }
            .firstOrNull { it.length == 2 && it.all { c -> c in 'a'..'z' || c in 'A'..'Z' } }
            ?.uppercase(Locale.ROOT)
}
