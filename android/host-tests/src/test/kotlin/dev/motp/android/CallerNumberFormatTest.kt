package dev.motp.android

import dev.motp.core.CallerInfo
import org.junit.Assert.assertEquals
import org.junit.Assume.assumeTrue
import org.junit.Before
import org.junit.Test
import java.io.File

/**
 * The caller number as the code-entry view shows it. [CallerNumberFormat]
 * only strings together the cells of the core's `displayCaller` (real
 * `libmotp_ffi.so`, through JNA), whose grouping is libphonenumber's.
 */
class CallerNumberFormatTest {
    @Before
    fun libraryBuilt() {
        val dir = System.getProperty("motp.lib.dir").orEmpty()
        assumeTrue("build it: cargo build -p motp-ffi", File(dir, "libmotp_ffi.so").isFile)
    }

    @Test
    fun `the caller prefix is shown with placeholders for the code`() {
        assertEquals("+44 20 7946 0___", CallerNumberFormat.format("+442079460", 3))
        assertEquals("+44 20 7946 012_", CallerNumberFormat.format("+442079460", 3, "12"))
        // Only the digits typed count, and no more than the code has.
        assertEquals("+44 20 7946 0123", CallerNumberFormat.format("+442079460", 3, "1-2 34567"))
        assertEquals("+44 20 7946 0•••", CallerNumberFormat.format("+442079460", 3, placeholder = '•'))
        assertEquals("+44 20 7946 01••", CallerNumberFormat.format(CallerInfo("+442079460", 3u), "1", '•'))
    }

    @Test
    fun `numbers are grouped the way each country writes them`() {
        assertEquals("+1 201-555-0___", CallerNumberFormat.format("+12015550", 3))
        assertEquals("+44 7700 900___", CallerNumberFormat.format("+447700900", 3))
        assertEquals("+44 113 496 0___", CallerNumberFormat.format("+441134960", 3))
        assertEquals("+33 1 99 00 1_ __", CallerNumberFormat.format("+3319900", 4, "1"))
        assertEquals("+49 30 123456__", CallerNumberFormat.format("+4930123456", 2))
    }

    @Test
    fun `a caller of the home country is shown the way the phone shows it`() {
        assertEquals("020 7946 0___", CallerNumberFormat.format("+442079460", 3, homeCountry = "GB"))
        assertEquals("020 7946 012_", CallerNumberFormat.format("+442079460", 3, "12", homeCountry = "gb"))
        assertEquals("07700 900___", CallerNumberFormat.format("+447700900", 3, homeCountry = "GB"))
        assertEquals("(201) 555-0___", CallerNumberFormat.format("+12015550", 3, homeCountry = "US"))
        // A caller from abroad, or an unknown home country: the international form.
        assertEquals("+44 20 7946 0___", CallerNumberFormat.format("+442079460", 3, homeCountry = "FR"))
        assertEquals("+44 20 7946 0___", CallerNumberFormat.format("+442079460", 3, homeCountry = "ZZ"))
        assertEquals("+44 20 7946 0___", CallerNumberFormat.format("+442079460", 3, homeCountry = ""))
    }

    @Test
    fun `a pattern the core refuses is shown as given, never thrown`() {
        assertEquals("", CallerNumberFormat.format("", 0))
        assertEquals("442079460___", CallerNumberFormat.format("442079460", 3))
    }
}
