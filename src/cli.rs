//! The command line: `gslb serve`, `gslb check`, `gslb explain`, `gslb dnssec`; `gslb -c FILE` serves. Parsing
//! only. The man page `docs/gslb.1` is generated from this definition (a test keeps it equal).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Authoritative DNS server and global server load balancer.
#[derive(Debug, Parser)]
#[command(name = "gslb", version = crate::VERSION, long_version = crate::LONG_VERSION, about)]
pub(crate) struct Cli {
    /// Configuration file (for serve, the default command, and check).
    #[arg(
        short,
        long,
        global = true,
        default_value = "gslb.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server (the default command: `gslb -c FILE` is `gslb serve -c FILE`).
    Serve,
    /// Ask a running server why it answers NAME the way it does for a client.
    Explain {
        /// The balanced name.
        name: String,
        /// A or AAAA.
        #[arg(long = "type", default_value = "A")]
        qtype: String,
        /// The client: an address (as a resolver's) or a network ADDR/LEN (as sent in ECS).
        #[arg(long, default_value = "127.0.0.1")]
        client: String,
        /// The admin API of the server to ask (default: the `[admin] listen` of the -c
        /// configuration, else http://127.0.0.1:8053).
        #[arg(long, value_name = "URL")]
        admin: Option<String>,
        /// What if this endpoint (address) or data center (name) were down? Repeatable; live
        /// state is not touched.
        #[arg(long = "assume-down", value_name = "ENDPOINT_OR_DATACENTER")]
        assume_down: Vec<String>,
        /// Print the JSON trace instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load and validate the configuration and every zone; exit 1 on any problem.
    Check,
    /// DNSSEC keys: make a key pair, print the DS for the parent zone.
    Dnssec {
        /// What to do.
        #[command(subcommand)]
        command: DnssecCommand,
    },
}

/// `gslb dnssec` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum DnssecCommand {
    /// Write a BIND-format key pair (K<zone>.+013+<tag>.key / .private) that [dnssec] can use.
    Keygen {
        /// The zone, e.g. gslb.example.com.
        zone: String,
        /// Where to write the files.
        #[arg(long, default_value = ".", value_name = "DIR")]
        dir: PathBuf,
        /// 13 (ECDSA P-256 SHA-256) or 15 (Ed25519).
        #[arg(long, default_value_t = 13, value_parser = clap::value_parser!(u8).range(13..=15))]
        algorithm: u8,
        /// A zone-signing key (flags 256) for a KSK + ZSK split; the default is a key-signing
        /// key (flags 257), which alone signs the whole zone.
        #[arg(long)]
        zsk: bool,
    },
    /// Print the DS records (SHA-256) to hand to the parent zone, from the configured keys.
    Ds {
        /// The zone, as in its [dnssec."zone"] table.
        zone: String,
    },
}
