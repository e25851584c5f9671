package dev.motp.android

/**
 * Shows the number that will call, with the code digits still to type as
 * placeholders: prefix `+442079460` and 3 code digits become
 * `+44 20 7946 0___`, and `+44 20 7946 012_` once `12` is typed.
 *
 * Grouping follows the way each country writes its numbers for the
 * countries listed in [nationalGroups]; elsewhere digits are grouped by
 * three. Plain Kotlin, no Android, so it is tested on the host.
 */
public object CallerNumberFormat {

    /**
     * @param prefix the E.164 prefix from the server (`+442079460`).
     * @param codeLength how many code digits follow the prefix.
     * @param typed the digits typed so far (extra characters are ignored).
     * @param placeholder what stands for a digit not typed yet.
     */
    @JvmStatic
    @JvmOverloads
    public fun format(prefix: String, codeLength: Int, typed: String = "", placeholder: Char = '_'): String {
        val prefixDigits = prefix.filter { it in '0'..'9' }
        val code = typed.filter { it in '0'..'9' }.take(codeLength.coerceAtLeast(0))
        val tail = code + placeholder.toString().repeat(codeLength.coerceAtLeast(0) - code.length)
        val all = prefixDigits + tail
        if (all.isEmpty()) return ""
        val ccLength = countryCodeLength(prefixDigits)
        val countryCode = all.take(ccLength)
        val national = all.drop(ccLength)
        val groups = split(national, nationalGroups(countryCode, national))
        return (listOf("+$countryCode") + groups).filter { it.isNotEmpty() }.joinToString(" ")
    }

    /** Length of the country calling code that starts [digits] (ITU-T E.164 assignments). */
    @JvmStatic
    public fun countryCodeLength(digits: String): Int = when {
        digits.startsWith("1") || digits.startsWith("7") -> 1
        digits.length >= 2 && digits.take(2) in TWO_DIGIT_CODES -> 2
        else -> minOf(3, digits.length)
    }

    /** Group sizes of a national significant number [national] in country [countryCode]. */
    internal fun nationalGroups(countryCode: String, national: String): List<Int> = when (countryCode) {
        "1" -> listOf(3, 3, 4)
        "7" -> listOf(3, 3, 2, 2)
        "33" -> listOf(1, 2, 2, 2, 2)
        "34" -> listOf(3, 3, 3)
        "44" -> when {
            // London, Southampton, Portsmouth, Coventry, Cardiff, Northern Ireland: 2-4-4.
            national.startsWith("2") -> listOf(2, 4, 4)
            // Mobiles and most geographic numbers: 4-6.
            national.startsWith("7") -> listOf(4, 6)
            national.length >= 3 && (national[1] == '1' || national[2] == '1') && national.startsWith("1") ->
                listOf(3, 3, 4)
            national.startsWith("1") -> listOf(4, 6)
            else -> listOf(3, 3, 4)
        }
        "49" -> listOf(3, 4, 4, 4)
        "61" -> if (national.startsWith("4")) listOf(3, 3, 3) else listOf(1, 4, 4)
        "91" -> listOf(5, 5)
        else -> byThrees(national.length)
    }

    private fun byThrees(length: Int): List<Int> {
        if (length <= 4) return listOf(length)
        val groups = MutableList(length / 3) { 3 }
        when (length % 3) {
            1 -> groups[groups.lastIndex] = 4
            2 -> groups += 2
        }
        return groups
    }

    /** Cuts [text] by [sizes]; what the sizes do not cover forms one last group. */
    private fun split(text: String, sizes: List<Int>): List<String> {
        val out = ArrayList<String>()
        var at = 0
        for (size in sizes) {
            if (at >= text.length) break
            out += text.substring(at, minOf(text.length, at + size))
            at += size
        }
        if (at < text.length) out += text.substring(at)
        return out
    }

    private val TWO_DIGIT_CODES = setOf(
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
        "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
        "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    )
}
