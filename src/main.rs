//! The `gslb` binary: parse the command line, set up logging, run a command.

mod cli;

/// The version `--version` prints: the package's, and the commit it was built from when the
/// build could ask git (`git describe`), else the package version alone.
const VERSION: &str = gslb::VERSION;

/// `--version` with the build's details.
const LONG_VERSION: &str = concat!(
    env!("GSLB_VERSION"),
    "\ncommit: ",
    env!("GSLB_COMMIT"),
    "\nprofile: ",
    env!("GSLB_PROFILE"),
    "\ntarget: ",
    env!("GSLB_TARGET"),
    "\nfeatures: ",
    env!("GSLB_FEATURES")
);

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, DnssecCommand, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    gslb::process::init_logging(cli.log_format == LogFormat::Json);
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check => check(&config),
        Command::Dnssec { command } => dnssec(&config, command),
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
                admin: admin.unwrap_or_else(|| admin_of(&config)),
                assume_down,
            },
            json,
        ),
        Command::Serve => match gslb::server::serve(&config) {
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

fn dnssec(config: &Path, command: DnssecCommand) -> ExitCode {
    let result = match command {
        DnssecCommand::Keygen {
            zone,
            dir,
            algorithm,
            zsk,
        } => gslb::dnssec::cli::keygen(&zone, &dir, algorithm, !zsk),
        DnssecCommand::Ds { zone } => gslb::dnssec::cli::ds(config, &zone),
    };
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gslb dnssec: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The admin API URL of the configuration at `config`: its `[admin] listen`, or the default
/// address when the file cannot be read (explain then says it cannot reach that address).
fn admin_of(config: &Path) -> String {
    let listen = gslb::config::Config::load(config)
        .map(|c| c.admin.listen)
        .unwrap_or_else(|_| gslb::config::defaults::ADMIN_LISTEN);
    format!("http://{listen}")
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The committed man page is the one the command line generates. To update it after
    /// changing `cli.rs`: `GSLB_WRITE_MAN=1 cargo test --bin gslb man_page`.
    #[test]
    fn man_page_matches_the_command_line() {
        // The package version only: the commit would change the pages with every commit.
        let mut cmd = super::cli::Cli::command()
            .version(env!("CARGO_PKG_VERSION"))
            .long_version(env!("CARGO_PKG_VERSION"));
        cmd.build();
        // gslb.1, and one page per subcommand (gslb-serve.1, …), which gslb.1 refers to.
        let mut pages = vec![("gslb".to_string(), cmd.clone())];
        for sub in cmd.get_subcommands() {
            let name = format!("gslb-{}", sub.get_name());
            pages.push((name, sub.clone().version(env!("CARGO_PKG_VERSION"))));
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs");
        let mut stale = Vec::new();
        for (name, cmd) in pages {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .expect("render");
            let path = format!("{dir}/{name}.1");
            if std::env::var_os("GSLB_WRITE_MAN").is_some() {
                std::fs::write(&path, &page).expect("write the man page");
            }
            if std::fs::read(&path).unwrap_or_default() != page {
                stale.push(path);
            }
        }
        assert!(
            stale.is_empty(),
            "{stale:?} differ from the command line: run GSLB_WRITE_MAN=1 cargo test --bin gslb man_page"
        );
    }
}
