//! Conversion figures (issue 15 item 6): per app, destination country and
//! trunk, over the verifications created in a window. `GET /v1/stats` (an
//! app's own, secret key) and `motp stats` (every app) both build a
//! [`Tally`] from [`crate::storage::StatsRow`]s.
//!
//! Every figure counts verifications, not calls: `delivered` = at least one
//! of its calls reached the phone; `failed` = its latest call failed (by
//! that call's reason; a resend that then got through is not a failure);
//! `approved_without_typing` = approved with no SDK report, i.e. the SDK
//! matched the call itself and the user typed nothing. Test numbers are
//! left out (app reviewers and CI would skew the conversion) and counted
//! apart.

pub mod country;
pub mod labels;
pub mod window;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::storage::StatsRow;

/// The figures of one group (or of all of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Verifications created in the window.
    pub created: u64,
    /// Of them, those whose call (any of them) reached the phone.
    pub delivered: u64,
    /// Of them, those approved.
    pub approved: u64,
    /// Approved with no SDK report: the SDK matched the call, nobody typed.
    pub approved_without_typing: u64,
    /// Those whose latest call failed, by the call's reason.
    pub failed: BTreeMap<String, u64>,
    /// `approved / created`; null when nothing was created.
    pub conversion_rate: Option<f64>,
    /// `approved_without_typing / approved`; null when nothing was approved.
    pub zero_typing_rate: Option<f64>,
    /// Median of approval time minus creation time, in milliseconds; null
    /// when nothing was approved.
    pub median_time_to_approval_ms: Option<i64>,
    /// The SDK's reports of verifications that ended without an automatic
    /// match, by observation (`no_permission`, `call_not_seen`,
    /// `call_seen_late`, `user_typed`).
    pub sdk_reports: BTreeMap<String, u64>,
}

/// One app, destination country and trunk.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub app_id: String,
    /// ISO 3166 alpha-2 of the destination; null when unknown.
    pub country: Option<String>,
    /// The trunk the calls went through (`default` while verifications do
    /// not record it).
    pub trunk: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The answer of `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatsReport {
    /// Start of the window (inclusive), RFC 3339.
    pub from: String,
    /// End of the window (exclusive), RFC 3339.
    pub to: String,
    /// Every group together.
    pub total: Figures,
    /// By app, country and trunk; most created first.
    pub groups: Vec<Group>,
    /// Verifications of test numbers in the window, not counted above.
    pub test_numbers_excluded: u64,
}

#[derive(Default)]
struct Counts {
    figures: Figures,
    approval_ms: Vec<i64>,
}

impl Counts {
    fn add(&mut self, row: &StatsRow) {
        let f = &mut self.figures;
        f.created += 1;
        f.delivered += u64::from(row.delivered);
        if row.status == "approved" {
            f.approved += 1;
            if row.observation.is_none() {
                f.approved_without_typing += 1;
            }
            if let Some(at) = row.verified_at {
                self.approval_ms.push((at - row.created_at).max(0));
            }
        }
        // `failure_reason` stays set when a failed verification later
        // expires, and a resend clears it: set = the latest call failed.
        if row.status != "approved" {
            if let Some(reason) = &row.failure_reason {
                *f.failed.entry(reason.clone()).or_default() += 1;
            }
        }
        if let Some(observation) = &row.observation {
            *f.sdk_reports.entry(observation.clone()).or_default() += 1;
        }
    }

    fn merge(&mut self, other: &Counts) {
        let f = &mut self.figures;
        let o = &other.figures;
        f.created += o.created;
        f.delivered += o.delivered;
        f.approved += o.approved;
        f.approved_without_typing += o.approved_without_typing;
        for (k, v) in &o.failed {
            *f.failed.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.sdk_reports {
            *f.sdk_reports.entry(k.clone()).or_default() += v;
        }
        self.approval_ms.extend_from_slice(&other.approval_ms);
    }

    fn finish(mut self) -> Figures {
        let mut f = self.figures;
        f.conversion_rate = ratio(f.approved, f.created);
        f.zero_typing_rate = ratio(f.approved_without_typing, f.approved);
        f.median_time_to_approval_ms = median(&mut self.approval_ms);
        f
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The median (the mean of the two middle values for an even count).
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

type Key = (String, Option<String>, String);

/// Builds the figures from rows, one at a time.
pub struct Tally<'a> {
    groups: HashMap<Key, Counts>,
    /// Country of each number seen, so each is parsed once.
    countries: HashMap<String, Option<String>>,
    is_test_number: Box<dyn Fn(&str) -> bool + Send + 'a>,
    test_numbers: u64,
}

impl<'a> Tally<'a> {
    /// An empty tally; rows whose number `is_test_number` are left out.
    pub fn new(is_test_number: impl Fn(&str) -> bool + Send + 'a) -> Self {
        Self {
            groups: HashMap::new(),
            countries: HashMap::new(),
            is_test_number: Box::new(is_test_number),
            test_numbers: 0,
        }
    }

    /// Counts one verification.
    pub fn add(&mut self, row: StatsRow) {
        if (self.is_test_number)(&row.phone_number) {
            self.test_numbers += 1;
            return;
        }
        let country = match self.countries.get(&row.phone_number) {
            Some(c) => c.clone(),
            None => {
                let c = country::of(&row.phone_number);
                self.countries.insert(row.phone_number.clone(), c.clone());
                c
            }
        };
        let key = (row.app_id.clone(), country, row.trunk.clone());
        self.groups.entry(key).or_default().add(&row);
    }

    /// The report for `[from, to)` (RFC 3339 texts).
    pub fn finish(self, from: String, to: String) -> StatsReport {
        let mut total = Counts::default();
        let mut groups: Vec<Group> = self
            .groups
            .into_iter()
            .map(|((app_id, country, trunk), counts)| {
                total.merge(&counts);
                Group {
                    app_id,
                    country,
                    trunk,
                    figures: counts.finish(),
                }
            })
            .collect();
        groups.sort_by(|a, b| {
            b.figures
                .created
                .cmp(&a.figures.created)
                .then_with(|| a.app_id.cmp(&b.app_id))
                .then_with(|| a.country.cmp(&b.country))
                .then_with(|| a.trunk.cmp(&b.trunk))
        });
        StatsReport {
            from,
            to,
            total: total.finish(),
            groups,
            test_numbers_excluded: self.test_numbers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phone: &str, status: &str) -> StatsRow {
        StatsRow {
            app_id: "app_1".into(),
            phone_number: phone.into(),
            status: status.into(),
            failure_reason: None,
            delivered: false,
            created_at: 1_000,
            verified_at: None,
            trunk: "default".into(),
            observation: None,
        }
    }

    #[test]
    fn figures_per_country_with_median_and_reports() {
        let mut tally = Tally::new(|n| n == "+447700900123");
        let gb = "+447400123456";
        let us = "+12025550143";
        for (ms, observation) in [(3_000, None), (5_000, Some("user_typed")), (10_000, None)] {
            tally.add(StatsRow {
                delivered: true,
                verified_at: Some(1_000 + ms),
                observation: observation.map(Into::into),
                ..row(gb, "approved")
            });
        }
        tally.add(StatsRow {
            failure_reason: Some("busy".into()),
            ..row(gb, "failed")
        });
        tally.add(StatsRow {
            failure_reason: Some("busy".into()),
            ..row(gb, "expired")
        });
        tally.add(StatsRow {
            delivered: true,
            observation: Some("call_not_seen".into()),
            ..row(us, "delivered")
        });
        tally.add(row("+447700900123", "approved"));
        let report = tally.finish("a".into(), "b".into());
        assert_eq!(report.test_numbers_excluded, 1);
        assert_eq!(report.groups.len(), 2);
        let gb = &report.groups[0];
        assert_eq!(gb.country.as_deref(), Some("GB"));
        assert_eq!(gb.figures.created, 5);
        assert_eq!(gb.figures.delivered, 3);
        assert_eq!(gb.figures.approved, 3);
        assert_eq!(gb.figures.approved_without_typing, 2);
        assert_eq!(gb.figures.failed.get("busy"), Some(&2));
        assert_eq!(gb.figures.conversion_rate, Some(0.6));
        assert_eq!(gb.figures.median_time_to_approval_ms, Some(5_000));
        assert_eq!(gb.figures.sdk_reports.get("user_typed"), Some(&1));
        let us = &report.groups[1];
        assert_eq!(us.country.as_deref(), Some("US"));
        assert_eq!(us.figures.approved, 0);
        assert_eq!(us.figures.conversion_rate, Some(0.0));
        assert_eq!(us.figures.zero_typing_rate, None);
        assert_eq!(us.figures.median_time_to_approval_ms, None);
        let total = &report.total;
        assert_eq!(total.created, 6);
        assert_eq!(total.delivered, 4);
        assert_eq!(total.median_time_to_approval_ms, Some(5_000));
        assert_eq!(total.sdk_reports.values().sum::<u64>(), 2);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_middle_mean() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [7]), Some(7));
    }
}
