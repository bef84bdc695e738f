//! `nats-auth`: writes nats-server configurations from the one description of the NATS
//! identities and their permissions (`shared::nats_auth`).
//!
//! ```text
//! nats-auth local DIR   a private configuration for a local server: DIR/auth.conf and one
//!                       DIR/<identity>.password per identity (kept when they exist)
//! nats-auth deploy      the shipped configuration (deploy/nats/auth.conf) on stdout, each
//!                       password read from the server's environment ($NATS_FETCHER_PASSWORD, ...)
//! ```
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Writes nats-server configurations with the ministry-feed identities and permissions.
#[derive(Debug, Parser)]
#[command(name = "nats-auth", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes DIR/auth.conf and DIR/<identity>.password (random passwords, kept on rerun).
    Local {
        /// Directory to write into (created if needed).
        dir: PathBuf,
    },
    /// Prints the shipped configuration, passwords read from the server's environment.
    Deploy,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Local { dir } => {
            let conf = shared::nats_auth::write_local(&dir).with_context(|| {
                format!("cannot write the NATS configuration into {}", dir.display())
            })?;
            println!("{}", conf.display());
        }
        Command::Deploy => print!("{}", shared::nats_auth::deploy_block()),
    }
    Ok(())
}
