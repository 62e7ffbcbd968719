//! The `gslb` binary: parse the command line, set up logging, run a command.

mod cli;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    gslb::process::init_logging(cli.log_format == LogFormat::Json);
    let command = cli.command.unwrap_or(Command::Serve {
        config: "gslb.toml".into(),
    });
    match command {
        Command::Check { config } => check(&config),
        Command::Explain {
            name,
            qtype,
            client,
            admin,
            assume_down,
            json,
        } => explain(
            gslb::explain::Ask {
                name,
                qtype,
                client,
                admin,
                assume_down,
            },
            json,
        ),
        Command::Serve { config } => match gslb::server::serve(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn check(config: &Path) -> ExitCode {
    match gslb::load::from_file(config) {
        Ok(s) => {
            let names: usize = s.zones.iter().map(|z| z.len()).sum();
            println!(
                "{}: ok ({} zones, {} names, {} balanced names)",
                config.display(),
                s.zones.len(),
                names,
                s.balances.len()
            );
            // The process ends here: freeing every name one by one would only delay the exit
            // (a quarter of a second for a million names).
            std::mem::forget(s);
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                println!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn explain(ask: gslb::explain::Ask, json: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gslb explain: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(gslb::explain::fetch(&ask)) {
        Ok(t) if json => {
            println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(t) => {
            print!("{}", gslb::explain::render(&t));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gslb explain: {e}");
            ExitCode::FAILURE
        }
    }
}
