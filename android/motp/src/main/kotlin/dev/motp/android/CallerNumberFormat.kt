package dev.motp.android

import dev.motp.core.CallerInfo
import dev.motp.core.DisplayCell
import dev.motp.core.DisplayForm
import dev.motp.core.MotpException
import dev.motp.sdk.displayCaller

/**
 * Shows the number that will call, with the code digits still to type as
 * placeholders: prefix `+442079460` and 3 code digits become
 * `+44 20 7946 0___`, `020 7946 0___` on a UK phone, and `020 7946 012_`
 * once `12` is typed.
 *
 * A thin adapter over the core's `displayCaller`, which groups the digits
 * the way libphonenumber writes that country's numbers (the same layout
 * on Android, iOS and in the server's demo). This object only turns the
 * core's cells into one string.
 */
public object CallerNumberFormat {

    /**
     * @param prefix the E.164 prefix from the server (`+442079460`).
     * @param codeLength how many code digits follow the prefix.
     * @param typed the digits typed so far (other characters and extra
     *   digits are ignored).
     * @param placeholder what stands for a digit not typed yet.
     * @param homeCountry the handset's home country (ISO 3166 alpha-2,
     *   see [HomeCountry]): a number of that country is shown in its
     *   national form (`020 7946 0___`), the way the phone shows the call.
     *   Null, or a number from another country: the international form.
     */
    @JvmStatic
    @JvmOverloads
    public fun format(
        prefix: String,
        codeLength: Int,
        typed: String = "",
        placeholder: Char = '_',
        homeCountry: String? = null,
    ): String {
        if (codeLength !in 0..UByte.MAX_VALUE.toInt()) return ungrouped(prefix, codeLength, typed, placeholder)
        return format(CallerInfo(prefix, codeLength.toUByte()), typed, placeholder, homeCountry)
    }

    /** [format] for the pattern of `MotpVerification.caller()`. */
    @JvmStatic
    @JvmOverloads
    public fun format(
        caller: CallerInfo,
        typed: String = "",
        placeholder: Char = '_',
        homeCountry: String? = null,
    ): String {
        val form = if (homeCountry.isNullOrBlank()) DisplayForm.International else DisplayForm.National(homeCountry)
        val display = try {
            displayCaller(caller, typed, form)
        } catch (_: MotpException) {
            // A pattern the core refuses (the server never sends one): show it unformatted.
            return ungrouped(caller.prefix, caller.codeLength.toInt(), typed, placeholder)
        }
        return buildString {
            for (cell in display.cells) {
                when (cell) {
                    is DisplayCell.Text -> append(cell.text)
                    is DisplayCell.Digit -> append('0' + cell.digit.toInt())
                    is DisplayCell.Code -> append(cell.typed?.let { '0' + it.toInt() } ?: placeholder)
                }
            }
        }
    }

    /** The prefix as given, then the typed digits and placeholders: no grouping. */
    private fun ungrouped(prefix: String, codeLength: Int, typed: String, placeholder: Char): String {
        val length = codeLength.coerceAtLeast(0)
        val code = typed.filter { it in '0'..'9' }.take(length)
        return prefix.trim() + code + placeholder.toString().repeat(length - code.length)
    }
}
