//! `dysr train`: one-shot supernet training (or one standalone subgraph with `--fixed`), or with
//! `--bench` the speed of both trainers.

use crate::training::error::TrainError;
use crate::training::train::{TrainConfig, TrainerChoice, bench_trainers, train};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: TrainConfig,
    /// Train nothing: time `--bench-steps` steps of burn's trainer and of dysr's kernels on the
    /// same batches (`--batch`, `--patch`, `--sampled`) and print steps/s and GFLOP/s of each.
    #[arg(long)]
    pub bench: bool,
    /// Steps each trainer is timed for, with --bench.
    #[arg(long, default_value_t = 10, value_parser = crate::cli::at_least_one)]
    pub bench_steps: usize,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let config = args.config;
    if args.bench {
        let speeds = bench_trainers(&config, args.bench_steps).map_err(anyhow::Error::msg)?;
        println!(
            "{} steps of the supernet's sandwich ({} sampled), batch {} of {}x{} LR patches, on {}",
            args.bench_steps,
            config.sampled,
            config.batch,
            config.patch,
            config.patch,
            crate::host::cpu_name()
        );
        println!("| trainer | steps/s | GFLOP/s | vs burn |");
        println!("|---|---|---|---|");
        let baseline = speeds[0].steps_per_sec;
        for speed in &speeds {
            println!(
                "| {} | {:.3} | {:.1} | {:.2}x |",
                speed.trainer,
                speed.steps_per_sec,
                speed.gflops,
                speed.steps_per_sec / baseline
            );
        }
        return Ok(());
    }
    let trained = train(&config).map_err(|error| match error {
        // The flag that resumes it.
        TrainError::OtherTrainer { trainer, .. } => {
            let flag = if trainer == TrainerChoice::Burn { "burn" } else { "cpu" };
            anyhow::anyhow!("{error}: resume with --trainer {flag}")
        }
        other => anyhow::Error::msg(other),
    })?;
    println!("trained {} steps in {:.0} s: {}", trained.steps, trained.seconds, trained.weights.display());
    Ok(())
}
