//! Giving memory back to the system once a burst of calls is over.
//!
//! Every call in flight holds a few kilobytes (its tasks, its SIP leg, its
//! channels). When thousands ring at once and then end, an allocator keeps
//! the freed memory for reuse, so the resident size would stay at the peak
//! of the burst (measured with glibc in docs/proof.md §7: 118.9 MiB after a
//! burst that started from 21.8 MiB). Built with the `jemalloc` feature, as
//! production builds are, the `motp` binary runs on jemalloc, which returns
//! freed pages by itself within a second (src/main.rs);
//! [`QuietTrim`] also purges every arena at once when the server has had
//! no call in flight for a few seconds, so an idle server returns to its
//! size before the burst, and a busy one never pays for it. Built without
//! the `jemalloc` feature, the same moment runs glibc's `malloc_trim(0)`,
//! which returns less (its freed memory is spread among live pages).

/// Seconds without a call in flight before memory is returned: longer than
/// the SIP transport keeps an ended call's ACK (4 × T1) for retransmissions.
pub const QUIET_SECS: u32 = 3;

/// Decides, one tick per second, when the server has fallen quiet after
/// calls and memory should be returned.
#[derive(Debug, Default)]
pub struct QuietTrim {
    /// Calls finished when memory was last returned.
    finished_at_last_trim: u64,
    /// Consecutive ticks with no call in flight.
    quiet_ticks: u32,
}

impl QuietTrim {
    /// One tick: `in_flight` calls now, `finished` calls ever. Returns
    /// whether to return memory now: calls have ended since the last time
    /// and none has been in flight for [`QUIET_SECS`] ticks.
    pub fn tick(&mut self, in_flight: usize, finished: u64) -> bool {
        if in_flight > 0 {
            self.quiet_ticks = 0;
            return false;
        }
        self.quiet_ticks = self.quiet_ticks.saturating_add(1);
        if self.quiet_ticks < QUIET_SECS || finished == self.finished_at_last_trim {
            return false;
        }
        self.finished_at_last_trim = finished;
        true
    }
}

/// Returns the allocator's free memory to the kernel: jemalloc purges
/// every arena (feature `jemalloc`), glibc trims its arenas;
/// a no-op elsewhere. Blocks for as long as that takes, a few milliseconds
/// after a large burst: call it off the async workers.
pub fn return_free_memory() {
    #[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
    {
        // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena, now.
        // SAFETY: a valid NUL-terminated name; purge reads and writes nothing.
        unsafe {
            tikv_jemalloc_sys::mallctl(
                c"arena.4096.purge".as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            );
        }
    }
    #[cfg(all(not(feature = "jemalloc"), target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_after_the_calls_end_and_the_quiet_lasts() {
        let mut trim = QuietTrim::default();
        // Idle from the start: nothing ended, nothing to return.
        for _ in 0..10 {
            assert!(!trim.tick(0, 0));
        }
        // A burst: never while calls are in flight.
        assert!(!trim.tick(500, 0));
        assert!(!trim.tick(2, 498));
        // Quiet for QUIET_SECS ticks, then once.
        for _ in 1..QUIET_SECS {
            assert!(!trim.tick(0, 500));
        }
        assert!(trim.tick(0, 500));
        assert!(!trim.tick(0, 500), "once per burst");
    }

    #[test]
    fn a_call_during_the_quiet_restarts_it() {
        let mut trim = QuietTrim::default();
        assert!(!trim.tick(0, 7));
        assert!(!trim.tick(0, 7));
        assert!(!trim.tick(1, 7));
        for _ in 1..QUIET_SECS {
            assert!(!trim.tick(0, 8));
        }
        assert!(trim.tick(0, 8));
    }
}
