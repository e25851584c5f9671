//! The figures over `--runs N`: medians, because one slow run (a cold
//! cache, a busy machine) says nothing about the next.

use std::time::Duration;

use super::outcome::Outcome;
use super::time_text::format_ms;

/// The median (the mean of the middle two for an even count); `None` when
/// there is nothing to take it of.
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// Prints the median request → approval without the `ring` time, its
/// range, and the median call setup (request → CANCEL minus the ring).
pub fn print_statistics(runs: &[Outcome], ring: Duration) {
    let approvals: Vec<Duration> = runs.iter().map(|o| o.approval_without_ring(ring)).collect();
    let overheads: Vec<Duration> = runs
        .iter()
        .filter_map(|o| o.cancel.map(|c| c.saturating_sub(ring)))
        .collect();
    let (Some(mid), Some(min), Some(max)) = (
        median(&approvals),
        approvals.iter().min(),
        approvals.iter().max(),
    ) else {
        return;
    };
    let ring_in = runs
        .iter()
        .filter(|o| o.approval_without_ring(ring) != o.approval)
        .count();
    println!(
        "  median request → approval over {} runs, excluding the {} s ring time: {} ms \
         (min {}, max {})",
        runs.len(),
        ring.as_secs_f64(),
        format_ms(mid),
        format_ms(*min),
        format_ms(*max),
    );
    println!(
        "  (approval came before the CANCEL in {} of {} runs: the ring time was not in them)",
        runs.len() - ring_in,
        runs.len()
    );
    if let Some(overhead) = median(&overheads) {
        println!(
            "  median request → CANCEL minus the ring time (call setup): {} ms",
            format_ms(overhead)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[ms(5)]), Some(ms(5)));
        assert_eq!(median(&[ms(9), ms(1), ms(5)]), Some(ms(5)));
        assert_eq!(median(&[ms(4), ms(1), ms(10), ms(2)]), Some(ms(3)));
    }
}
