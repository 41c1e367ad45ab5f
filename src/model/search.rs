//! The search: every candidate subgraph's quality on the validation photos and latency on this
//! device at the playing size; the Pareto front of the two; and the ladder, a nested chain of 5 to 8
//! rungs close to that front (each rung contains the previous one, which is what makes switching
//! between them incremental).

use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;

use super::error::ModelError;
use super::evaluate::{Method, ValidationImage, evaluate};
use super::supernet::{SubgraphSpec, Supernet, SupernetConfig};

/// Consecutive rungs differ in cost by at least this factor (closer rungs would not be worth a switch).
const MIN_COST_STEP: f64 = 1.6;
/// ... and in validation PSNR by at least this much.
const MIN_PSNR_STEP_DB: f64 = 0.03;
/// The cheapest rung costs about what Anime4K's smallest CNN does (~1k MACs per LR pixel). A
/// cheaper subgraph is barely sharper than the Lanczos scaler and saves little time over such a
/// rung; below it the player's scaler floor serves instead.
const FIRST_RUNG_MACS: std::ops::RangeInclusive<usize> = 700..=1500;
/// How far below the Pareto front a rung may be, tried from strict to loose.
const FRONT_TOLERANCES_DB: [f64; 4] = [0.1, 0.2, 0.4, f64::INFINITY];
pub const MIN_RUNGS: usize = 5;
pub const MAX_RUNGS: usize = 8;

#[derive(Debug, Clone, Serialize)]
pub struct CandidateScore {
    pub spec: SubgraphSpec,
    pub macs_per_lr_pixel: usize,
    pub psnr_y: f64,
    pub ssim_y: f64,
    pub latency_ms: f64,
}

/// Median milliseconds of each of `count` candidates, timed round-robin: `warm_up` untimed rounds,
/// then `runs` rounds, each running every candidate once (`run_once(i)` runs candidate `i`). A slow
/// spell of the host then falls on all candidates alike instead of on whichever was being timed,
/// which on a shared machine decides the order of the cheap candidates.
pub fn round_robin_medians_ms(count: usize, warm_up: usize, runs: usize, mut run_once: impl FnMut(usize)) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(runs.max(1)); count];
    for round in 0..warm_up + runs.max(1) {
        for (candidate, candidate_times) in times.iter_mut().enumerate() {
            let started = Instant::now();
            run_once(candidate);
            if round >= warm_up {
                candidate_times.push(started.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    times.into_iter().map(|mut candidate_times| crate::telemetry::median(&mut candidate_times)).collect()
}

/// One forward of `spec` on `frame` by burn (on a GPU), read back so that the time includes all
/// queued work.
pub fn run_forward(model: &Supernet, spec: SubgraphSpec, frame: &Tensor<4>) {
    let _ = model.forward(frame.clone(), spec).into_data();
}

/// Quality of every candidate subgraph (in `config.candidates()` order), with its latency from
/// `latencies_ms` (measured on whatever runs the subgraphs in the player).
pub fn score_candidates(
    model: &Supernet,
    config: &SupernetConfig,
    images: &[ValidationImage],
    latencies_ms: &[f64],
    mut on_scored: impl FnMut(&CandidateScore),
) -> Vec<CandidateScore> {
    config
        .candidates()
        .into_iter()
        .zip(latencies_ms)
        .map(|(spec, &latency_ms)| {
            let quality = evaluate(&Method::Subgraph { name: spec.to_string(), model, spec }, images);
            let score = CandidateScore {
                spec,
                macs_per_lr_pixel: spec.macs_per_lr_pixel(),
                psnr_y: quality.psnr_y,
                ssim_y: quality.ssim_y,
                latency_ms,
            };
            on_scored(&score);
            score
        })
        .collect()
}

/// Indices of the candidates no other candidate beats on both latency and PSNR.
pub fn pareto_front(scores: &[CandidateScore]) -> Vec<usize> {
    (0..scores.len())
        .filter(|&i| {
            !scores.iter().any(|other| {
                other.latency_ms <= scores[i].latency_ms
                    && other.psnr_y >= scores[i].psnr_y
                    && (other.latency_ms < scores[i].latency_ms || other.psnr_y > scores[i].psnr_y)
            })
        })
        .collect()
}

/// How far each candidate's PSNR is below the best PSNR reachable at its latency or less.
fn front_deficits(scores: &[CandidateScore]) -> Vec<f64> {
    scores
        .iter()
        .map(|score| {
            let best =
                scores.iter().filter(|o| o.latency_ms <= score.latency_ms).map(|o| o.psnr_y).fold(f64::MIN, f64::max);
            (best - score.psnr_y).max(0.0)
        })
        .collect()
}

/// The ladder: a nested chain from a cheap first rung to the best candidate, as long as the cost
/// and quality steps allow (5 to 8 rungs), each rung within a tolerance of the Pareto front
/// (strictest tolerance that admits 5 rungs), with the least total distance from the front.
pub fn choose_ladder(scores: &[CandidateScore]) -> Result<Vec<CandidateScore>, ModelError> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by_key(|&i| (scores[i].macs_per_lr_pixel, scores[i].spec));
    let sorted: Vec<&CandidateScore> = order.iter().map(|&i| &scores[i]).collect();
    let deficits: Vec<f64> = {
        let all = front_deficits(scores);
        order.iter().map(|&i| all[i]).collect()
    };
    let Some(best) = (0..sorted.len()).max_by(|&a, &b| sorted[a].psnr_y.total_cmp(&sorted[b].psnr_y)) else {
        return Err(ModelError::NoCandidates);
    };
    let step_ok = |from: usize, to: usize| {
        sorted[from].spec.is_nested_in(&sorted[to].spec)
            && sorted[to].macs_per_lr_pixel as f64 >= MIN_COST_STEP * sorted[from].macs_per_lr_pixel as f64
            && sorted[to].psnr_y >= sorted[from].psnr_y + MIN_PSNR_STEP_DB
    };
    for tolerance in FRONT_TOLERANCES_DB {
        let allowed = |i: usize| deficits[i] <= tolerance || i == best;
        // cost[k][i]: least total deficit of a valid chain of k + 1 rungs ending at i; from[k][i]: its previous rung.
        let mut cost = vec![vec![f64::INFINITY; sorted.len()]; MAX_RUNGS];
        let mut from = vec![vec![usize::MAX; sorted.len()]; MAX_RUNGS];
        for i in 0..sorted.len() {
            if allowed(i) && FIRST_RUNG_MACS.contains(&sorted[i].macs_per_lr_pixel) {
                cost[0][i] = deficits[i];
            }
        }
        for k in 1..MAX_RUNGS {
            for to in 0..sorted.len() {
                if !allowed(to) {
                    continue;
                }
                for previous in 0..to {
                    let total = cost[k - 1][previous] + deficits[to];
                    if total < cost[k][to] && step_ok(previous, to) {
                        cost[k][to] = total;
                        from[k][to] = previous;
                    }
                }
            }
        }
        if let Some(k) = (MIN_RUNGS - 1..MAX_RUNGS).rev().find(|&k| cost[k][best].is_finite()) {
            let mut chain = vec![best];
            for level in (1..=k).rev() {
                chain.push(from[level][*chain.last().expect("non-empty")]);
            }
            chain.reverse();
            return Ok(chain.into_iter().map(|i| sorted[i].clone()).collect());
        }
    }
    Err(ModelError::NoLadder { rungs: MIN_RUNGS })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(depth: usize, width: usize, psnr_y: f64) -> CandidateScore {
        let spec = SubgraphSpec { depth, width };
        let macs = spec.macs_per_lr_pixel();
        CandidateScore { spec, macs_per_lr_pixel: macs, psnr_y, ssim_y: 0.9, latency_ms: macs as f64 / 1000.0 }
    }

    /// Quality that rises with depth and width, as a trained supernet's does.
    fn grid() -> Vec<CandidateScore> {
        let config = SupernetConfig::new();
        config
            .candidates()
            .into_iter()
            .map(|s| score(s.depth, s.width, 30.0 + (s.macs_per_lr_pixel() as f64).ln()))
            .collect()
    }

    #[test]
    fn candidates_are_timed_in_turns_and_each_gets_its_median() {
        let mut order = Vec::new();
        let medians = round_robin_medians_ms(3, 1, 3, |i| {
            order.push(i);
            // Candidate 2 takes 20 ms, the others nothing: medians separate them.
            if i == 2 {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
        assert_eq!(order, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], "one warm-up round, then three timed rounds");
        assert_eq!(medians.len(), 3);
        assert!(medians[2] >= 20.0 && medians[0] < medians[2] && medians[1] < medians[2], "{medians:?}");
    }

    #[test]
    fn the_front_drops_dominated_candidates() {
        let scores = vec![score(0, 8, 30.0), score(1, 8, 29.0), score(1, 16, 31.0)];
        assert_eq!(pareto_front(&scores), vec![0, 2]);
    }

    #[test]
    fn the_ladder_is_nested_cheapest_first_and_spans_the_costs() {
        let scores = grid();
        let ladder = choose_ladder(&scores).expect("a ladder");
        assert!((MIN_RUNGS..=MAX_RUNGS).contains(&ladder.len()), "{} rungs", ladder.len());
        assert!(FIRST_RUNG_MACS.contains(&ladder[0].macs_per_lr_pixel));
        assert_eq!(ladder.last().unwrap().spec, SupernetConfig::new().largest());
        for pair in ladder.windows(2) {
            assert!(pair[0].spec.is_nested_in(&pair[1].spec));
            assert!(pair[1].macs_per_lr_pixel as f64 >= MIN_COST_STEP * pair[0].macs_per_lr_pixel as f64);
            assert!(pair[1].psnr_y > pair[0].psnr_y);
        }
    }

    #[test]
    fn flat_quality_has_no_ladder() {
        let scores: Vec<CandidateScore> = grid()
            .into_iter()
            .map(|mut s| {
                s.psnr_y = 30.0;
                s
            })
            .collect();
        assert!(choose_ladder(&scores).is_err());
    }
}
