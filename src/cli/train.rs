//! `dysr train`: one-shot supernet training (or one standalone subgraph with `--fixed`).

use crate::model::train::{TrainConfig, train};

pub fn run(config: TrainConfig) -> anyhow::Result<()> {
    let trained = train(&config).map_err(anyhow::Error::msg)?;
    println!(
        "trained {} steps in {:.0} s: {}",
        trained.steps,
        trained.seconds,
        trained.weights.display()
    );
    Ok(())
}
