//! A tiny matcher for libphonenumber's number patterns, so that no regex
//! engine ships in the library.
//!
//! The patterns (`(\d{2})(\d{4})(\d{4})`, `1(?:[2-69][02-9]|[78])`…) use
//! only digit classes, concatenation, alternation, counted repetition and
//! groups. `core/examples/generate_countries.rs` compiles each one, with
//! regex-syntax, into a program of `u16` instructions in the style of a
//! backtracking regex VM; this module runs them.
//!
//! | high 4 bits | instruction | low 12 bits |
//! |---|---|---|
//! | `0` | match one digit whose bit is in the mask | 10-bit digit mask |
//! | `1` | fork: try the next instruction, then the target | target |
//! | `2` | jump | target |
//! | `3` | record the position in a capture slot | slot (2g, 2g+1 for group g) |
//!
//! Reaching the end of the program is a match. Forks prefer the next
//! instruction, which is how greedy repetition and left-first alternation
//! are compiled, so the first match found is the one Java's (and
//! libphonenumber's) regex engine would report, captures included.
//!
//! The input is not a digit string but one digit *set* per position: a
//! known digit is a single bit, a code digit not typed yet is every digit.
//! A program matches when some choice of digits in those sets matches.

/// A position that can hold any digit (a code digit not typed yet).
pub(super) const ANY_DIGIT: u16 = 0x03FF;

const OPCODE: u16 = 0xF000;
const OPERAND: u16 = 0x0FFF;
const CLASS: u16 = 0x0000;
const FORK: u16 = 0x1000;
const JUMP: u16 = 0x2000;
const SAVE: u16 = 0x3000;

/// Capture slots: start and end of groups 0 to 7 (the generator refuses
/// patterns with more groups).
const SLOTS: usize = 16;
const UNSET: u8 = u8::MAX;

/// Where each capture group matched: `[start, end)` in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Captures([u8; SLOTS]);

impl Captures {
    /// The span of `group`, if it took part in the match.
    pub(super) fn group(&self, group: usize) -> Option<std::ops::Range<usize>> {
        let (start, end) = (*self.0.get(2 * group)?, *self.0.get(2 * group + 1)?);
        (start != UNSET && end != UNSET).then(|| usize::from(start)..usize::from(end))
    }
}

/// One compiled pattern: a slice of instructions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Program(pub(super) &'static [u16]);

impl Program {
    /// The program stored at `offset` in `blob`: its length, then itself.
    pub(super) fn at(blob: &'static [u16], offset: u16) -> Self {
        let start = usize::from(offset) + 1;
        let len = usize::from(blob[start - 1]);
        Program(&blob[start..start + len])
    }

    /// Whether the pattern matches at the start of `input` (Java's
    /// `lookingAt`), as libphonenumber tests leading digits.
    pub(super) fn matches_start(&self, input: &[u16]) -> bool {
        Run::new(self.0, input, false).step(0, 0)
    }

    /// The captures of a match of the whole `input` (Java's `matches`).
    pub(super) fn captures(&self, input: &[u16]) -> Option<Captures> {
        let mut run = Run::new(self.0, input, true);
        run.step(0, 0).then_some(Captures(run.slots))
    }
}

#[cfg(test)]
impl Program {
    /// Whether every instruction is one `step` knows, with its target or
    /// slot in bounds.
    pub(super) fn is_well_formed(&self) -> bool {
        self.0.iter().all(|&word| {
            let operand = word & OPERAND;
            match word & OPCODE {
                CLASS => operand != 0 && operand <= ANY_DIGIT,
                FORK | JUMP => usize::from(operand) <= self.0.len(),
                SAVE => usize::from(operand) < SLOTS,
                _ => false,
            }
        })
    }
}

/// One backtracking run. `visited` remembers the (instruction, position)
/// pairs already tried, one bit per position: whether a match can go on
/// from there does not depend on how it got there, so each pair is tried
/// at most once and the run is linear in program × input.
struct Run<'a> {
    program: &'a [u16],
    input: &'a [u16],
    whole: bool,
    visited: Vec<u32>,
    slots: [u8; SLOTS],
}

impl<'a> Run<'a> {
    fn new(program: &'a [u16], input: &'a [u16], whole: bool) -> Self {
        // National numbers have at most 14 digits; a longer input (which
        // no caller pattern produces) matches nothing rather than overflow
        // the position bits.
        let input = if input.len() < 32 { input } else { &[] };
        Run {
            program,
            input,
            whole,
            visited: vec![0; program.len()],
            slots: [UNSET; SLOTS],
        }
    }

    fn step(&mut self, mut pc: usize, mut pos: usize) -> bool {
        loop {
            let Some(&word) = self.program.get(pc) else {
                return !self.whole || pos == self.input.len();
            };
            let bit = 1u32 << pos;
            if self.visited[pc] & bit != 0 {
                return false;
            }
            self.visited[pc] |= bit;
            let operand = usize::from(word & OPERAND);
            match word & OPCODE {
                CLASS => match self.input.get(pos) {
                    Some(&digits) if digits & word != 0 => {
                        pc += 1;
                        pos += 1;
                    }
                    _ => return false,
                },
                FORK => {
                    if self.step(pc + 1, pos) {
                        return true;
                    }
                    pc = operand;
                }
                JUMP => pc = operand,
                SAVE => {
                    let previous = self.slots[operand];
                    // `pos` < 32, so it fits.
                    self.slots[operand] = pos as u8;
                    if self.step(pc + 1, pos) {
                        return true;
                    }
                    self.slots[operand] = previous;
                    return false;
                }
                _ => unreachable!("the generator emits no other instruction"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(\d{2,3})(\d{3,4})` by hand: 0: save 2, \d, \d, fork 5, \d,
    /// 5: save 3, save 4, \d, \d, \d, fork 12, \d, 12: save 5.
    static TWO_GROUPS: [u16; 14] = [
        13, 0x3002, 0x03ff, 0x03ff, 0x1005, 0x03ff, 0x3003, 0x3004, 0x03ff, 0x03ff, 0x03ff, 0x100c,
        0x03ff, 0x3005,
    ];
    /// `1|2[05]` by hand: fork 3, 1, jump 5, 2, [05].
    static LEADING: [u16; 6] = [5, 0x1003, 0x0002, 0x2005, 0x0004, 0x0021];

    fn digits(s: &str) -> Vec<u16> {
        s.bytes()
            .map(|b| match b {
                b'0'..=b'9' => 1 << (b - b'0'),
                _ => ANY_DIGIT,
            })
            .collect()
    }

    #[test]
    fn greedy_captures_and_whole_match() {
        let p = Program::at(&TWO_GROUPS, 0);
        let groups = |input: &str| {
            p.captures(&digits(input))
                .map(|c| (c.group(1).unwrap(), c.group(2).unwrap()))
        };
        // Greedy, as Java: with 6 digits the first group takes 3, not 2.
        assert_eq!(groups("123456"), Some((0..3, 3..6)));
        assert_eq!(groups("12345"), Some((0..2, 2..5)));
        assert_eq!(groups("1234567"), Some((0..3, 3..7)));
        assert_eq!(groups("1234"), None);
        assert_eq!(groups("12345678"), None);
        assert_eq!(p.captures(&digits("12345")).unwrap().group(3), None);
        assert!(p.matches_start(&digits("12345678")));
        assert!(!p.matches_start(&digits("1234")));
    }

    #[test]
    fn unknown_digits_match_any_class() {
        let p = Program::at(&LEADING, 0);
        assert!(p.matches_start(&digits("1")));
        assert!(p.matches_start(&digits("25")));
        assert!(!p.matches_start(&digits("21")));
        assert!(!p.matches_start(&digits("3")));
        // "2?" can be 20 or 25; "?" can be 1.
        assert!(p.matches_start(&digits("2?")));
        assert!(p.matches_start(&digits("?")));
        assert!(!p.matches_start(&digits("")));
        assert!(p.captures(&digits("1")).is_some());
        assert!(p.captures(&digits("25?")).is_none());
    }
}
