//! Latency models of the simulated venue: feed, order entry and response latency are each one
//! of these, sampled independently.
//!
//! A latency is a non-negative number of nanoseconds. It is a constant, a function of time read
//! from a table (for latencies measured in production, which drift over a day), or a draw from a
//! seeded distribution (for jitter). Draws are reproducible: the same seed gives the same draws
//! in the same order.

use rand::distr::Uniform;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal, Normal};
use rand_pcg::Pcg64;

use crate::matching::simulated::VenueError;

/// Largest latency a model may give: one day. Caps heavy-tailed draws so that a timestamp plus
/// a latency cannot overflow and a single outlier cannot stall a replay for years.
pub const MAX_LATENCY_NS: i64 = 86_400_000_000_000;

/// A seeded distribution of latencies in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyDistribution {
    /// Normal with the given mean and standard deviation, truncated at zero (negative draws are
    /// drawn again, so the mean must not be negative).
    Normal { mean: f64, std_dev: f64 },
    /// `exp(N(mu, sigma))`: right-skewed, the usual shape of network latency. `mu` and `sigma`
    /// are those of the underlying normal, so the median is `exp(mu)` ns.
    LogNormal { mu: f64, sigma: f64 },
    /// Uniform on `[low, high]`.
    Uniform { low: f64, high: f64 },
}

/// Time-varying latency: points `(ts, latency)` with strictly increasing `ts`, linearly
/// interpolated in between and held constant before the first and after the last point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyTable {
    points: Vec<(i64, i64)>,
}

impl LatencyTable {
    pub fn new(points: Vec<(i64, i64)>) -> Result<Self, VenueError> {
        if points.is_empty() {
            return Err(VenueError::InvalidLatency(
                "a latency table needs at least one point".into(),
            ));
        }
        for pair in points.windows(2) {
            if pair[1].0 <= pair[0].0 {
                return Err(VenueError::InvalidLatency(format!(
                    "latency table timestamps must increase strictly, got {} after {}",
                    pair[1].0, pair[0].0
                )));
            }
        }
        for &(_, latency) in &points {
            check_latency(latency)?;
        }
        Ok(LatencyTable { points })
    }

    pub fn points(&self) -> &[(i64, i64)] {
        &self.points
    }

    /// Latency at `ts`, rounded to the nearest nanosecond (halves up).
    pub fn at(&self, ts: i64) -> i64 {
        let after = self.points.partition_point(|&(point_ts, _)| point_ts <= ts);
        if after == 0 {
            return self.points[0].1;
        }
        if after == self.points.len() {
            return self.points[after - 1].1;
        }
        let (t0, l0) = self.points[after - 1];
        let (t1, l1) = self.points[after];
        let span = (t1 - t0) as i128;
        let rise = (l1 - l0) as i128 * (ts - t0) as i128;
        // floor((2 * rise + span) / (2 * span)) rounds to nearest with halves up, exactly.
        let step = (2 * rise + span).div_euclid(2 * span);
        l0 + step as i64
    }
}

/// How one latency (feed, order entry or response) is produced.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyModel {
    /// The same latency every time, in ns.
    Constant(i64),
    /// Read from a table by the time at which the latency starts.
    Table(LatencyTable),
    /// Drawn from a distribution with its own seeded generator.
    Random {
        distribution: LatencyDistribution,
        seed: u64,
    },
}

impl LatencyModel {
    /// Checks the parameters: constants in `[0, MAX_LATENCY_NS]`, finite distribution
    /// parameters, a non-negative normal mean, `0 <= low <= high` for a uniform.
    pub fn validate(&self) -> Result<(), VenueError> {
        match self {
            LatencyModel::Constant(latency) => check_latency(*latency),
            LatencyModel::Table(_) => Ok(()),
            LatencyModel::Random { distribution, .. } => Sampler::new(distribution).map(|_| ()),
        }
    }
}

fn check_latency(latency: i64) -> Result<(), VenueError> {
    if (0..=MAX_LATENCY_NS).contains(&latency) {
        Ok(())
    } else {
        Err(VenueError::InvalidLatency(format!(
            "latency must lie in [0, {MAX_LATENCY_NS}] ns, got {latency}"
        )))
    }
}

/// A distribution ready to sample.
#[derive(Debug, Clone)]
enum Sampler {
    Normal(Normal<f64>),
    LogNormal(LogNormal<f64>),
    Uniform(Uniform<f64>),
}

impl Sampler {
    fn new(distribution: &LatencyDistribution) -> Result<Self, VenueError> {
        let invalid = |what: String| VenueError::InvalidLatency(what);
        let finite = |name: &str, value: f64| {
            if value.is_finite() {
                Ok(value)
            } else {
                Err(invalid(format!("{name} must be finite, got {value}")))
            }
        };
        match *distribution {
            LatencyDistribution::Normal { mean, std_dev } => {
                if finite("mean", mean)? < 0.0 {
                    return Err(invalid(format!("normal mean must be >= 0, got {mean}")));
                }
                if finite("std_dev", std_dev)? < 0.0 {
                    return Err(invalid(format!(
                        "normal std_dev must be >= 0, got {std_dev}"
                    )));
                }
                Normal::new(mean, std_dev)
                    .map(Sampler::Normal)
                    .map_err(|error| invalid(error.to_string()))
            }
            LatencyDistribution::LogNormal { mu, sigma } => {
                finite("mu", mu)?;
                if finite("sigma", sigma)? < 0.0 {
                    return Err(invalid(format!(
                        "lognormal sigma must be >= 0, got {sigma}"
                    )));
                }
                LogNormal::new(mu, sigma)
                    .map(Sampler::LogNormal)
                    .map_err(|error| invalid(error.to_string()))
            }
            LatencyDistribution::Uniform { low, high } => {
                if finite("low", low)? < 0.0 || finite("high", high)? < low {
                    return Err(invalid(format!(
                        "uniform bounds must satisfy 0 <= low <= high, got [{low}, {high}]"
                    )));
                }
                Uniform::new_inclusive(low, high)
                    .map(Sampler::Uniform)
                    .map_err(|error| invalid(error.to_string()))
            }
        }
    }

    fn draw(&self, rng: &mut Pcg64) -> f64 {
        match self {
            Sampler::Normal(normal) => loop {
                // Redrawing negatives truncates at zero without piling mass onto 0 ns; with a
                // non-negative mean each draw is accepted with probability >= 1/2.
                let value = normal.sample(rng);
                if value >= 0.0 {
                    break value;
                }
            },
            Sampler::LogNormal(lognormal) => lognormal.sample(rng),
            Sampler::Uniform(uniform) => uniform.sample(rng),
        }
    }
}

/// A latency model with its generator state: the thing the venue samples.
#[derive(Debug, Clone)]
pub struct Latency {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Constant(i64),
    Table(LatencyTable),
    Random {
        distribution: LatencyDistribution,
        seed: u64,
        sampler: Sampler,
        rng: Pcg64,
    },
}

impl PartialEq for Latency {
    fn eq(&self, other: &Self) -> bool {
        self.model() == other.model() && self.generator_state() == other.generator_state()
    }
}

impl Latency {
    pub fn new(model: LatencyModel) -> Result<Self, VenueError> {
        model.validate()?;
        let source = match model {
            LatencyModel::Constant(latency) => Source::Constant(latency),
            LatencyModel::Table(table) => Source::Table(table),
            LatencyModel::Random { distribution, seed } => Source::Random {
                distribution,
                seed,
                sampler: Sampler::new(&distribution)?,
                rng: Pcg64::seed_from_u64(seed),
            },
        };
        Ok(Latency { source })
    }

    /// The model this latency was built from.
    pub fn model(&self) -> LatencyModel {
        match &self.source {
            Source::Constant(latency) => LatencyModel::Constant(*latency),
            Source::Table(table) => LatencyModel::Table(table.clone()),
            Source::Random {
                distribution, seed, ..
            } => LatencyModel::Random {
                distribution: *distribution,
                seed: *seed,
            },
        }
    }

    /// The latency of something that starts at `ts`.
    pub fn sample(&mut self, ts: i64) -> i64 {
        match &mut self.source {
            Source::Constant(latency) => *latency,
            Source::Table(table) => table.at(ts),
            Source::Random { sampler, rng, .. } => {
                let draw = sampler.draw(rng).round();
                // `as` saturates, and the cap keeps heavy tails bounded.
                (draw as i64).clamp(0, MAX_LATENCY_NS)
            }
        }
    }

    /// The generator's `(state, stream)`, for snapshots; None for deterministic models.
    pub fn generator_state(&self) -> Option<(u128, u128)> {
        match &self.source {
            Source::Random { rng, .. } => Some((rng.state(), rng.stream())),
            _ => None,
        }
    }

    /// Restores the generator from [`Latency::generator_state`].
    pub fn set_generator_state(&mut self, state: (u128, u128)) -> Result<(), VenueError> {
        match &mut self.source {
            Source::Random { rng, .. } => {
                *rng = Pcg64::from_state(state.0, state.1);
                Ok(())
            }
            _ => Err(VenueError::InvalidSnapshot(
                "generator state given for a latency model without a generator".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_latency_is_constant_and_validated() {
        let mut latency = Latency::new(LatencyModel::Constant(250)).expect("valid");
        assert_eq!(latency.sample(0), 250);
        assert_eq!(latency.sample(1_000_000), 250);
        assert!(matches!(
            Latency::new(LatencyModel::Constant(-1)),
            Err(VenueError::InvalidLatency(_))
        ));
        assert!(matches!(
            Latency::new(LatencyModel::Constant(MAX_LATENCY_NS + 1)),
            Err(VenueError::InvalidLatency(_))
        ));
    }

    #[test]
    fn table_interpolates_linearly_and_holds_at_the_ends() {
        let table =
            LatencyTable::new(vec![(1_000, 100), (2_000, 300), (4_000, 299)]).expect("valid");
        assert_eq!(table.at(0), 100);
        assert_eq!(table.at(1_000), 100);
        assert_eq!(table.at(1_500), 200);
        assert_eq!(table.at(1_001), 100);
        assert_eq!(table.at(1_003), 101); // 100.6 rounds up
        assert_eq!(table.at(2_000), 300);
        assert_eq!(table.at(3_000), 300); // 299.5 rounds half up
        assert_eq!(table.at(3_001), 299); // 299.4995
        assert_eq!(table.at(4_000), 299);
        assert_eq!(table.at(i64::MAX), 299);
        let mut latency = Latency::new(LatencyModel::Table(table)).expect("valid");
        assert_eq!(latency.sample(1_500), 200);
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(LatencyTable::new(vec![]).is_err());
        assert!(LatencyTable::new(vec![(5, 1), (5, 2)]).is_err());
        assert!(LatencyTable::new(vec![(5, 1), (4, 2)]).is_err());
        assert!(LatencyTable::new(vec![(5, -1)]).is_err());
    }

    #[test]
    fn bad_distribution_parameters_are_refused() {
        let random = |distribution| LatencyModel::Random {
            distribution,
            seed: 1,
        };
        for distribution in [
            LatencyDistribution::Normal {
                mean: -1.0,
                std_dev: 1.0,
            },
            LatencyDistribution::Normal {
                mean: 1.0,
                std_dev: -1.0,
            },
            LatencyDistribution::Normal {
                mean: f64::NAN,
                std_dev: 1.0,
            },
            LatencyDistribution::LogNormal {
                mu: f64::INFINITY,
                sigma: 1.0,
            },
            LatencyDistribution::LogNormal {
                mu: 1.0,
                sigma: -0.5,
            },
            LatencyDistribution::Uniform {
                low: -1.0,
                high: 2.0,
            },
            LatencyDistribution::Uniform {
                low: 3.0,
                high: 2.0,
            },
        ] {
            assert!(
                matches!(
                    Latency::new(random(distribution)),
                    Err(VenueError::InvalidLatency(_))
                ),
                "{distribution:?} should be refused"
            );
        }
    }

    fn draws(model: LatencyModel, count: usize) -> Vec<i64> {
        let mut latency = Latency::new(model).expect("valid");
        (0..count)
            .map(|index| latency.sample(index as i64))
            .collect()
    }

    #[test]
    fn random_latency_is_reproducible_from_its_seed() {
        let model = |seed| LatencyModel::Random {
            distribution: LatencyDistribution::LogNormal {
                mu: 10.0,
                sigma: 0.5,
            },
            seed,
        };
        assert_eq!(draws(model(7), 1_000), draws(model(7), 1_000));
        assert_ne!(draws(model(7), 1_000), draws(model(8), 1_000));
    }

    #[test]
    fn random_latency_follows_its_distribution() {
        let normal = draws(
            LatencyModel::Random {
                distribution: LatencyDistribution::Normal {
                    mean: 1_000.0,
                    std_dev: 100.0,
                },
                seed: 3,
            },
            20_000,
        );
        let mean = normal.iter().sum::<i64>() as f64 / normal.len() as f64;
        assert!((mean - 1_000.0).abs() < 5.0, "mean {mean}");
        let uniform = draws(
            LatencyModel::Random {
                distribution: LatencyDistribution::Uniform {
                    low: 50.0,
                    high: 60.0,
                },
                seed: 3,
            },
            5_000,
        );
        assert!(uniform.iter().all(|&value| (50..=60).contains(&value)));
        assert!(uniform.contains(&50) && uniform.contains(&60));
        let mut lognormal = draws(
            LatencyModel::Random {
                distribution: LatencyDistribution::LogNormal {
                    mu: 10.0,
                    sigma: 0.3,
                },
                seed: 3,
            },
            20_001,
        );
        lognormal.sort_unstable();
        let median = lognormal[10_000] as f64;
        assert!((median / 10f64.exp() - 1.0).abs() < 0.02, "median {median}");
    }

    #[test]
    fn normal_draws_are_truncated_at_zero_not_clamped() {
        let values = draws(
            LatencyModel::Random {
                distribution: LatencyDistribution::Normal {
                    mean: 0.0,
                    std_dev: 1_000.0,
                },
                seed: 11,
            },
            10_000,
        );
        assert!(values.iter().all(|&value| value >= 0));
        // Half-normal: E = sigma * sqrt(2 / pi) ~ 797.9; clamping would give ~399.
        let mean = values.iter().sum::<i64>() as f64 / values.len() as f64;
        assert!((mean - 797.9).abs() < 30.0, "mean {mean}");
        let zeros = values.iter().filter(|&&value| value == 0).count();
        assert!(zeros < 20, "{zeros} zero draws");
    }

    #[test]
    fn heavy_tails_are_capped() {
        let values = draws(
            LatencyModel::Random {
                distribution: LatencyDistribution::LogNormal {
                    mu: 60.0,
                    sigma: 1.0,
                },
                seed: 1,
            },
            10,
        );
        assert!(values.iter().all(|&value| value == MAX_LATENCY_NS));
    }

    #[test]
    fn generator_state_round_trips() {
        let model = LatencyModel::Random {
            distribution: LatencyDistribution::Uniform {
                low: 0.0,
                high: 1e6,
            },
            seed: 5,
        };
        let mut original = Latency::new(model.clone()).expect("valid");
        original.sample(0);
        let mut restored = Latency::new(model).expect("valid");
        let state = original.generator_state().expect("random model");
        restored.set_generator_state(state).expect("restore");
        assert_eq!(restored, original);
        let ahead: Vec<_> = (0..100).map(|ts| original.sample(ts)).collect();
        let again: Vec<_> = (0..100).map(|ts| restored.sample(ts)).collect();
        assert_eq!(ahead, again);
        let mut constant = Latency::new(LatencyModel::Constant(1)).expect("valid");
        assert_eq!(constant.generator_state(), None);
        assert!(constant.set_generator_state(state).is_err());
    }
}
