//! The command line: `gslb serve`, `gslb check`. Parsing only.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Authoritative DNS server and global server load balancer.
#[derive(Debug, Parser)]
#[command(name = "gslb", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Configuration file.
        #[arg(short, long, default_value = "gslb.toml")]
        config: PathBuf,
    },
    /// Load and validate the configuration and every zone; exit 1 on any problem.
    Check {
        /// Configuration file.
        #[arg(short, long, default_value = "gslb.toml")]
        config: PathBuf,
    },
}
