//! `motp stats`: the conversion figures of every app (or one), by
//! destination country and trunk, read from the database directly like
//! `motp keys`, so it needs no running server.

use std::path::PathBuf;

use clap::Args;

use crate::clock::{timestamp, Clock, SystemClock};
use crate::config::Config;
use crate::stats::{window, Figures, StatsReport, Tally};
use crate::storage::Store;

/// Arguments of `motp stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The configuration file, for the database URL and the test numbers.
    #[arg(long, short, env = "MOTP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Only this app (by name).
    #[arg(long)]
    pub app: Option<String>,
    /// Start of the window, RFC 3339 UTC (not with --window).
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window, RFC 3339 UTC; default now.
    #[arg(long)]
    pub to: Option<String>,
    /// Seconds back from --to (at most 31 days); default 86400.
    #[arg(long)]
    pub window: Option<String>,
    /// Print JSON (the shape of `GET /v1/stats`, with app names).
    #[arg(long)]
    pub json: bool,
}

/// Runs `motp stats`; returns the process exit code.
pub fn run(args: StatsArgs) -> i32 {
    let config = match Config::load_unvalidated(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("motp stats: {e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("motp stats: {e}");
            return 1;
        }
    };
    runtime.block_on(async {
        let store = match Store::connect(&config.database).await {
            Ok(store) => store,
            Err(e) => {
                eprintln!("motp stats: {e}");
                return 1;
            }
        };
        let outcome = report(&store, &config, &args, SystemClock.now_ms()).await;
        store.close().await;
        match outcome {
            Ok(report) if args.json => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("serialisable")
                );
                0
            }
            Ok(report) => {
                print!("{}", table(&report));
                0
            }
            Err((code, e)) => {
                eprintln!("motp stats: {e}");
                code
            }
        }
    })
}

/// The figures of the apps asked for, with app names in `app_id`'s place.
/// Errors carry the exit code: 2 for bad arguments, 1 for the database.
pub async fn report(
    store: &Store,
    config: &Config,
    args: &StatsArgs,
    now: i64,
) -> Result<StatsReport, (i32, String)> {
    let params = [
        ("from", &args.from),
        ("to", &args.to),
        ("window", &args.window),
    ];
    let window = window::parse(
        params
            .iter()
            .filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))),
        now,
    )
    .map_err(|e| (2, e.replace("window", "--window")))?;
    let test_numbers = crate::test_numbers::TestNumbers::new(
        &config.test_numbers,
        &config.codes.ranges,
        &config.limits.allowed_countries,
    )
    .map_err(|e| (2, e))?;
    let mut apps = store.apps().await.map_err(|e| (1, e.to_string()))?;
    if let Some(name) = &args.app {
        apps.retain(|(_, n)| n == name);
        if apps.is_empty() {
            return Err((2, format!("no app named {name:?}")));
        }
    }
    let mut tally = Tally::new(|number| test_numbers.lookup(number).is_some());
    for (id, name) in &apps {
        store
            .stats_rows(id, window.from, window.to, |mut row| {
                row.app_id.clone_from(name);
                tally.add(row)
            })
            .await
            .map_err(|e| (1, e.to_string()))?;
    }
    Ok(tally.finish(
        timestamp(window.from).to_string(),
        timestamp(window.to).to_string(),
    ))
}

/// A plain-text table: one line per app, country and trunk, then the total.
pub fn table(report: &StatsReport) -> String {
    let mut out = format!("verifications created {} to {}\n", report.from, report.to);
    out.push_str(&format!(
        "{:<16} {:<7} {:<10} {:>8} {:>9} {:>8} {:>6} {:>6} {:>9}  {}\n",
        "app",
        "country",
        "trunk",
        "created",
        "delivered",
        "approved",
        "conv",
        "typed0",
        "median_s",
        "failed / sdk reports"
    ));
    let line = |app: &str, country: &str, trunk: &str, f: &Figures| {
        let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0));
        let median = f
            .median_time_to_approval_ms
            .map_or("-".to_string(), |ms| format!("{:.1}", ms as f64 / 1000.0));
        let mut notes: Vec<String> = f.failed.iter().map(|(k, v)| format!("{k}={v}")).collect();
        notes.extend(f.sdk_reports.iter().map(|(k, v)| format!("{k}={v}")));
        format!(
            "{:<16} {:<7} {:<10} {:>8} {:>9} {:>8} {:>6} {:>6} {:>9}  {}\n",
            app,
            country,
            trunk,
            f.created,
            f.delivered,
            f.approved,
            pct(f.conversion_rate),
            pct(f.zero_typing_rate),
            median,
            notes.join(" ")
        )
    };
    for g in &report.groups {
        out.push_str(&line(
            &g.app_id,
            g.country.as_deref().unwrap_or("?"),
            &g.trunk,
            &g.figures,
        ));
    }
    out.push_str(&line("total", "", "", &report.total));
    if report.test_numbers_excluded > 0 {
        out.push_str(&format!(
            "({} verifications of test numbers not counted)\n",
            report.test_numbers_excluded
        ));
    }
    out
}
