package dev.motp.sdk

import dev.motp.core.CallerInfo
import dev.motp.core.DisplayCell
import dev.motp.core.DisplayForm
import dev.motp.core.MotpException
import org.junit.jupiter.api.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

/** `displayCaller`: the caller number as cells for a code-entry UI. */
class DisplayTest {
    private val caller = CallerInfo("+442079460", 3u)

    private fun text(cells: List<DisplayCell>): String = cells.joinToString("") {
        when (it) {
            is DisplayCell.Text -> it.text
            is DisplayCell.Digit -> it.digit.toString()
            is DisplayCell.Code -> it.typed?.toString() ?: "_"
        }
    }

    @Test
    fun `the number is laid out internationally or as the home country writes it`() {
        val international = displayCaller(caller, "1", DisplayForm.International)
        assertEquals("+44 20 7946 01__", text(international.cells))
        assertFalse(international.national)

        val national = displayCaller(caller, "1", DisplayForm.National("GB"))
        assertEquals("020 7946 01__", text(national.cells))
        assertTrue(national.national)
        assertEquals(
            listOf(DisplayCell.Code(0u, 1u), DisplayCell.Code(1u, null), DisplayCell.Code(2u, null)),
            national.cells.filterIsInstance<DisplayCell.Code>(),
        )
        // From abroad a UK number keeps its international form.
        assertFalse(displayCaller(caller, "", DisplayForm.National("FR")).national)
    }

    @Test
    fun `a malformed caller is InvalidInput`() {
        assertFailsWith<MotpException.InvalidInput> { displayCaller(CallerInfo("442079460", 3u), "", DisplayForm.International) }
    }
}
