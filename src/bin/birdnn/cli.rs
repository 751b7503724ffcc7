//! The dispatch from the parsed arguments to the commands. Each command loads through the
//! core's readers, computes through the core, and only formats.

use crate::args::{Cli, Command};
use crate::check::{check, CheckSettings};
use crate::convert::convert;
use crate::eval::eval;
use crate::info::info;
use crate::repair::{apply_settings, repair};
use crate::verify::verify;
use birdnn::falsify::FalsifierConfig;
use birdnn::repair::RepairSettings;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the command line program.
pub fn main() -> ExitCode {
    // The solver interface's global options print just the name or the version.
    match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [flag] if flag == "--name" => {
            println!("{}", crate::solver::NAME);
            return ExitCode::SUCCESS;
        }
        [flag] if flag == "--version" => {
            println!("{}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { net } => info(&net, cli.json),
        Command::Balls { set, out } => crate::robustness::write_balls(&set, &out),
        Command::Eval {
            net,
            inputs,
            physical,
            decisions,
        } => eval(&net, &inputs, physical, decisions),
        Command::Check {
            net,
            properties,
            samples,
            seed,
            starts,
            max_counterexamples,
            decision,
            steps,
            step_size,
            relu_leak,
            hints,
        } => check(
            &net,
            &properties,
            CheckSettings {
                samples,
                seed,
                decision,
                falsifier: FalsifierConfig {
                    starts,
                    max_counterexamples,
                    seed,
                    steps,
                    step_size,
                    relu_leak,
                    ..Default::default()
                },
                hints,
            },
            cli.json,
        ),
        Command::Convert {
            input,
            output,
            decision,
        } => convert(&input, &output, decision),
        Command::Verify {
            net,
            properties,
            networks,
            timeout,
            serialise_assignments,
            seed,
            decision,
        } => {
            if !networks.is_empty() {
                if !properties.is_empty() {
                    Err(
                        "with --network, verify takes one VNN-LIB query and no property files"
                            .into(),
                    )
                } else {
                    crate::solver::verify(
                        &net,
                        &networks,
                        timeout,
                        serialise_assignments.as_deref(),
                    )
                }
            } else if properties.is_empty() {
                Err("verify needs a network and at least one property file (or a query and --network NAME=MODEL)".into())
            } else if serialise_assignments.is_some() {
                Err("--serialise-assignments belongs to the --network form of verify".into())
            } else {
                verify(
                    &net,
                    &properties,
                    timeout.unwrap_or(60.0),
                    seed,
                    decision,
                    cli.json,
                )
            }
        }
        Command::Supports { capability } => match crate::solver::supports(&capability) {
            Some(lines) => {
                for line in lines {
                    println!("{line}");
                }
                Ok(())
            }
            None => Err(format!("unknown capability '{capability}'").into()),
        },
        Command::Repair(args) => repair(&args, cli.json),
        Command::Bench {
            instances,
            methods,
            out,
            data,
            seed,
            threads,
            sets,
            verify_timeout,
            sizes,
        } => {
            if let Some(which) = instances.images() {
                let dir = data
                    .or_else(|| std::env::var_os("BIRDNN_DIGITS_DIR").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("../shared/digits"));
                let run = apply_settings(birdnn::images::benchmark::image_repair_settings(), &sets)
                    .and_then(|base| {
                        crate::bench_images::bench_images(
                            &dir,
                            which,
                            &methods,
                            out.as_ref(),
                            &base,
                            seed,
                            &sizes,
                        )
                    });
                return match run {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("birdnn: error: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            let dir = acasxu_dir(data);
            let threads = threads_or_cores(threads);
            let base = match apply_settings(RepairSettings::default(), &sets) {
                Ok(base) => base,
                Err(e) => {
                    eprintln!("birdnn: error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            crate::bench::bench(
                &dir,
                instances,
                &methods,
                out.as_ref(),
                threads,
                &base,
                crate::bench::RunOptions {
                    seed,
                    verify_timeout,
                },
            )
        }
        Command::BenchVerify {
            instances: Some(instances),
            threads,
            out,
            ..
        } => crate::bench_instances::bench_instances(
            &instances,
            threads_or_cores(threads),
            out.as_ref(),
        ),
        Command::BenchVerify {
            pairs,
            ablation,
            timeout,
            data,
            threads,
            out,
            ..
        } => crate::bench_verify::bench_verify(
            &acasxu_dir(data),
            pairs,
            timeout,
            threads_or_cores(threads),
            ablation,
            out.as_ref(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("birdnn: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn acasxu_dir(data: Option<PathBuf>) -> PathBuf {
    data.or_else(|| std::env::var_os("BIRDNN_ACASXU_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/acasxu"))
}

fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
