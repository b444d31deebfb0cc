//! Argument parsing and dispatch. Each subcommand lives in its own file.

mod args;
mod demo;
mod exercise;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// A teaching lab: why concurrent writes to a shared session map need coordination.
///
/// With no subcommand, runs the demo: every store under the same concurrent session
/// workload (handler threads logging in, touching, logging out, plus a background sweeper),
/// then a table of what each store got wrong. The racy store runs in a child process, so its
/// crash or hang is reported, not suffered.
#[derive(Debug, Parser)]
#[command(name = "sessionlab", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    demo: args::DemoArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every store (or one) under the session workload and compare (the default).
    Demo(args::DemoArgs),
    /// Run the workload on one store in this process and print its report as JSON (used by
    /// the demo to isolate the racy store; not meant to be called by hand).
    #[command(hide = true)]
    Child(args::ChildArgs),
    /// The course: `list` the exercises, show a `hint`, `check N` or `check all` with the lab's
    /// own checkers (exercises/README.md).
    Exercise(exercise::ExerciseArgs),
}

/// Parses the command line and runs it. Bad arguments exit with code 2 and a message (clap).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => demo::run(&cli.demo),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Child(args)) => demo::run_child(&args),
        Some(Command::Exercise(args)) => exercise::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sessionlab: {message}");
            ExitCode::FAILURE
        }
    }
}
