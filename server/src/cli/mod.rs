//! The `motp` command-line tool: one module per subcommand.

pub mod match_cmd;
