//! Where an exponential-smoothing fit starts, as statsmodels'
//! `ExponentialSmoothing(initialization_method='estimated')` starts it for
//! PyCaret's `exp_smooth`: the initial states by Hyndman's heuristic (a
//! centred moving average over the first cycles, then a line through its
//! first 10 points) when the series is long enough, else the simple ones
//! (the first cycle's mean and ratios); then the smoothing parameters at the
//! best point of statsmodels' grid, the states held fixed. The objective has
//! several local minima on real series (the airline series has three within
//! PyCaret's folds), and the search ends in statsmodels' only when it starts
//! where statsmodels starts.

/// Initial level, trend and seasonal states (no season: empty).
pub(super) struct States {
    pub level: f64,
    pub trend: f64,
    pub season: Vec<f64>,
}

/// statsmodels' estimated initialisation: the heuristic from 10 + 2·⌊m/2⌋
/// points on, else the simple one. `m` 0: no season.
pub(super) fn initial_states(y: &[f64], m: usize, mul: bool) -> States {
    if y.len() >= 10 + 2 * (m / 2) {
        heuristic(y, m, mul)
    } else {
        simple(y, m, mul)
    }
}

/// Hyndman and Athanasopoulos 7.6: the first season's mean, the mean change
/// between the first two seasons per point, the first season's deviations
/// from its mean (ratios to it for a multiplicative season); no season: the
/// first value and the first change.
fn simple(y: &[f64], m: usize, mul: bool) -> States {
    if m == 0 {
        let trend = if y.len() > 1 { y[1] - y[0] } else { 0.0 };
        return States {
            level: y[0],
            trend,
            season: Vec::new(),
        };
    }
    let first = y[..m].iter().sum::<f64>() / m as f64;
    let second = y[m..2 * m].iter().sum::<f64>() / m as f64;
    let season = y[..m]
        .iter()
        .map(|v| if mul { v / first } else { v - first })
        .collect();
    States {
        level: first,
        trend: (second - first) / m as f64,
        season,
    }
}

/// Hyndman et al. 2.6, as statsmodels' `_initialization_heuristic`.
fn heuristic(y: &[f64], m: usize, mul: bool) -> States {
    let mut season = Vec::new();
    let mut level_source: Vec<f64> = y.to_vec();
    if m > 0 {
        let min_obs = 10 + 2 * (m / 2);
        let cycles = (y.len() / m).min(5).max(min_obs.div_ceil(m));
        let series = &y[..(m * cycles).min(y.len())];
        let n = series.len();
        // pandas' rolling(m, center=True).mean(), then for an even m the
        // mean of each two neighbours (a 2×m moving average).
        let half = m / 2;
        let mut trend = vec![f64::NAN; n];
        for (i, t) in trend.iter_mut().enumerate() {
            let Some(lo) = i.checked_sub(half) else {
                continue;
            };
            let hi = lo + m; // exclusive
            if hi <= n {
                *t = series[lo..hi].iter().sum::<f64>() / m as f64;
            }
        }
        if m.is_multiple_of(2) {
            trend = (0..n)
                .map(|i| {
                    if i + 1 < n {
                        (trend[i] + trend[i + 1]) / 2.0
                    } else {
                        f64::NAN
                    }
                })
                .collect();
        }
        // The average seasonal effect per position, NaN left out.
        season = (0..m)
            .map(|j| {
                let values: Vec<f64> = (j..n)
                    .step_by(m)
                    .map(|i| {
                        if mul {
                            series[i] / trend[i]
                        } else {
                            series[i] - trend[i]
                        }
                    })
                    .filter(|v| !v.is_nan())
                    .collect();
                match values.len() {
                    // Not reached with two whole seasons; no effect then.
                    0 if mul => 1.0,
                    0 => 0.0,
                    k => values.iter().sum::<f64>() / k as f64,
                }
            })
            .collect();
        let mean = season.iter().sum::<f64>() / m as f64;
        for s in &mut season {
            if mul {
                *s /= mean;
            } else {
                *s -= mean;
            }
        }
        level_source = trend.into_iter().filter(|v| !v.is_nan()).collect();
    }
    // A least-squares line through the first 10 points, at times 1..=10:
    // the level is its value at time 0, the trend its slope.
    let points = &level_source[..level_source.len().min(10)];
    let k = points.len() as f64;
    let t_mean = (k + 1.0) / 2.0;
    let y_mean = points.iter().sum::<f64>() / k;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in points.iter().enumerate() {
        let dt = (i + 1) as f64 - t_mean;
        sxy += dt * (v - y_mean);
        sxx += dt * dt;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    States {
        level: y_mean - slope * t_mean,
        trend: slope,
        season,
    }
}

/// `n` evenly spaced values from `a` to `b` (numpy's `linspace`).
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    let step = (b - a) / (n - 1) as f64;
    (0..n)
        .map(|i| if i == n - 1 { b } else { a + i as f64 * step })
        .collect()
}

/// statsmodels' brute-force start: α on 87 / 3 (87 / 2 without a season)
/// points inside (0, 1), for each α a grid of β in [0, α] and γ in
/// [0, 1 − α] growing with √α and √(1 − α); the first point of the lowest
/// `sse(α, β, γ)`.
pub(super) fn best_on_grid(seasonal: bool, sse: impl Fn(f64, f64, f64) -> f64) -> [f64; 3] {
    let ns = 87 / if seasonal { 3 } else { 2 };
    let mut best = (f64::INFINITY, None);
    for a in linspace(0.005, 0.995, ns) {
        let bs = linspace(0.0, a.min(1.0), (ns as f64 * a.sqrt()).ceil() as usize);
        let gs = if seasonal {
            linspace(
                0.0,
                (1.0 - a).min(1.0),
                (ns as f64 * (1.0 - a).sqrt()).ceil() as usize,
            )
        } else {
            vec![0.0]
        };
        for &g in &gs {
            for &b in &bs {
                let point = [a, b, g];
                let v = sse(a, b, g);
                if best.1.is_none() {
                    best.1 = Some(point);
                }
                if v < best.0 {
                    best = (v, Some(point));
                }
            }
        }
    }
    best.1.expect("the grid has points")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// statsmodels 0.14's start on the airline series' first 96 points:
    /// `initial_level` 124.677778, `initial_trend` 1.058586, the grid's best
    /// (α, β, γ) (0.7829, 0.0313, 0.2169) in its [0, 1] boxes (0.7829,
    /// 0.04, 0.3077).
    #[test]
    fn the_airline_start_is_statsmodels() {
        let y = crate::forecast::airline();
        let s = initial_states(&y[..96], 12, true);
        assert!((s.level - 124.677_777_78).abs() < 1e-6, "{}", s.level);
        assert!((s.trend - 1.058_585_86).abs() < 1e-6, "{}", s.trend);
        assert!((s.season.iter().sum::<f64>() - 12.0).abs() < 1e-9);
        let [a, b, g] = best_on_grid(true, |a, b, g| {
            super::super::smoothing::sse_from(&y[..96], [a, b, g], &s, true)
        });
        assert!((a - 0.782_857_14).abs() < 1e-6, "{a}");
        assert!((b / a - 0.04).abs() < 1e-9, "{b}");
        assert!((g / (1.0 - a) - 0.307_692_31).abs() < 1e-6, "{g}");
    }
}
