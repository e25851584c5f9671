//! The `motp` command-line tool: one module per subcommand.

pub mod demo;
pub mod keys;
pub mod match_cmd;
pub mod serve;
pub mod stats;
pub mod webhooks;
