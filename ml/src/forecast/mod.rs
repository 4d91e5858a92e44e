//! Forecasting, PyCaret's time-series `compare_models`: the models (naive,
//! seasonal naive, grand mean, a least-squares trend line, Holt-Winters
//! exponential smoothing, ETS, ARIMA), PyCaret's expanding-window folds, the
//! seasonal period when none is given, and the forecast metrics (MASE and
//! RMSSE scaled by each fold's in-sample seasonal-naive errors, MAE, RMSE,
//! MAPE, SMAPE, R2), as sktime computes them.

mod arima;
mod fit;
mod smoothing;
mod start;

pub use fit::{ForecastFit, SeriesFit, show_key};

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::metrics;

/// PyCaret's time-series leaderboard metrics, in its column order.
pub const FORECAST_METRICS: &[&str] = &["MASE", "RMSSE", "MAE", "RMSE", "MAPE", "SMAPE", "R2"];

/// A forecasting model (PyCaret's ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Forecaster {
    /// The last value, repeated.
    Naive,
    /// The last season, repeated.
    SeasonalNaive,
    /// The training mean.
    GrandMeans,
    /// A least-squares line over the point index.
    PolyTrend,
    /// Holt-Winters: additive trend, a season when the series has one
    /// (multiplicative when its values are all positive), smoothing
    /// parameters and initial states by least squares.
    ExpSmooth,
    /// ETS(A,A,M) / (A,A,A) / (A,A,N): additive errors and trend, the
    /// season as for `ExpSmooth`, the smoothing parameters and the initial
    /// states by maximum likelihood.
    Ets,
    /// PyCaret's default `arima`: ARIMA(1,0,0) with an intercept, on the
    /// seasonally differenced series when it has a season
    /// (seasonal order (0,1,0,sp)), by exact maximum likelihood.
    Arima,
}

impl Forecaster {
    pub const ALL: [Forecaster; 7] = [
        Forecaster::Naive,
        Forecaster::SeasonalNaive,
        Forecaster::GrandMeans,
        Forecaster::PolyTrend,
        Forecaster::ExpSmooth,
        Forecaster::Ets,
        Forecaster::Arima,
    ];

    /// PyCaret's id.
    pub const fn id(self) -> &'static str {
        match self {
            Forecaster::Naive => "naive",
            Forecaster::SeasonalNaive => "snaive",
            Forecaster::GrandMeans => "grand_means",
            Forecaster::PolyTrend => "polytrend",
            Forecaster::ExpSmooth => "exp_smooth",
            Forecaster::Ets => "ets",
            Forecaster::Arima => "arima",
        }
    }

    /// PyCaret's display name.
    pub const fn name(self) -> &'static str {
        match self {
            Forecaster::Naive => "Naive Forecaster",
            Forecaster::SeasonalNaive => "Seasonal Naive Forecaster",
            Forecaster::GrandMeans => "Grand Means Forecaster",
            Forecaster::PolyTrend => "Polynomial Trend Forecaster",
            Forecaster::ExpSmooth => "Exponential Smoothing",
            Forecaster::Ets => "ETS",
            Forecaster::Arima => "ARIMA",
        }
    }

    pub fn parse(text: &str) -> Result<Forecaster> {
        let key = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        let found = Forecaster::ALL
            .into_iter()
            .find(|f| f.id() == key || f.name().to_ascii_lowercase().replace(' ', "_") == key);
        match (found, key.as_str()) {
            (Some(f), _) => Ok(f),
            (None, "exponential_smoothing" | "holt_winters") => Ok(Forecaster::ExpSmooth),
            (None, "auto_ets") => Ok(Forecaster::Ets),
            _ => Err(invalid(format!(
                "unknown forecasting model '{text}'; fsql has {}",
                Forecaster::ALL.map(|f| f.id()).join(", ")
            ))),
        }
    }

    /// The next `fh` values after `train`, `sp` the seasonal period (1: no
    /// season).
    pub fn forecast(self, train: &[f64], fh: usize, sp: usize) -> Result<Vec<f64>> {
        let n = train.len();
        if n == 0 {
            return Err(invalid("no training points"));
        }
        Ok(match self {
            Forecaster::Naive => vec![train[n - 1]; fh],
            Forecaster::SeasonalNaive => {
                if n < sp {
                    return Err(invalid(format!(
                        "the seasonal naive forecaster needs a whole season ({sp} points); the fold has {n}"
                    )));
                }
                (0..fh).map(|h| train[n - sp + h % sp]).collect()
            }
            Forecaster::GrandMeans => vec![train.iter().sum::<f64>() / n as f64; fh],
            Forecaster::PolyTrend => {
                let (a, b) = line(train);
                (0..fh).map(|h| a + b * (n + h) as f64).collect()
            }
            Forecaster::ExpSmooth => smoothing::holt_winters(train, fh, sp)?,
            Forecaster::Ets => smoothing::ets(train, fh, sp)?,
            Forecaster::Arima => arima::forecast(train, fh, sp)?,
        })
    }
}

/// Least-squares intercept and slope of `y` over 0, 1, 2, ...
fn line(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 2 {
        return (y.first().copied().unwrap_or(0.0), 0.0);
    }
    let mx = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    let b = sxy / sxx;
    (my - b * mx, b)
}

/// PyCaret's folds of a series of `n` points: the last `fh` are held out;
/// the fold cutoffs are `fh` apart and end `fh` before the hold-out, so
/// fold `k` trains on the points before its cutoff and forecasts the `fh`
/// after it (144 points, fh 12, 3 folds: cutoffs 96, 108, 120).
pub fn cutoffs(n: usize, fh: usize, folds: usize) -> Result<Vec<usize>> {
    let available = n.saturating_sub(fh);
    let first = available as i64 - (fh * folds) as i64;
    if first < 2 {
        return Err(invalid(format!(
            "{folds} folds of {fh} points need more than {} points (the last {fh} are held out); the series has {n}",
            fh * (folds + 1) + 1
        )));
    }
    Ok((0..folds).map(|k| first as usize + k * fh).collect())
}

/// The seasonal period of `y` when none is given: the lag (2 .. n/2) whose
/// autocorrelation is the largest significant peak (above 1.96/√n, and
/// above its neighbours), else 1 (no season).
pub fn detect_sp(y: &[f64]) -> usize {
    let n = y.len();
    if n < 8 {
        return 1;
    }
    // Detrended by first differences, as seasonality tests do.
    let d: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    let m = d.len();
    let mean = d.iter().sum::<f64>() / m as f64;
    let var: f64 = d.iter().map(|v| (v - mean).powi(2)).sum();
    if var == 0.0 {
        return 1;
    }
    let acf = |lag: usize| -> f64 {
        (lag..m)
            .map(|t| (d[t] - mean) * (d[t - lag] - mean))
            .sum::<f64>()
            / var
    };
    let max_lag = (m / 2).min(400);
    let values: Vec<f64> = (0..=max_lag + 1)
        .map(|l| if l == 0 { 1.0 } else { acf(l) })
        .collect();
    let threshold = 1.96 / (m as f64).sqrt();
    let mut best = (1, threshold);
    for lag in 2..=max_lag {
        let v = values[lag];
        if v > best.1 && v >= values[lag - 1] && v >= values[lag + 1] {
            best = (lag, v);
        }
    }
    best.0
}

/// MASE, RMSSE, MAE, RMSE, MAPE, SMAPE, R2 of `pred` against `truth`, the
/// scaled errors divided by `train`'s in-sample seasonal-naive errors.
pub fn scores(train: &[f64], truth: &[f64], pred: &[f64], sp: usize) -> Vec<f64> {
    let sp = sp.max(1).min(train.len().saturating_sub(1).max(1));
    let naive: Vec<f64> = (sp..train.len())
        .map(|t| train[t] - train[t - sp])
        .collect();
    let scale_abs = naive.iter().map(|d| d.abs()).sum::<f64>() / naive.len().max(1) as f64;
    let scale_sq = naive.iter().map(|d| d * d).sum::<f64>() / naive.len().max(1) as f64;
    let mae = metrics::mae(truth, pred);
    let rmse = metrics::rmse(truth, pred);
    let eps = f64::EPSILON;
    let n = truth.len().max(1) as f64;
    let mape = truth
        .iter()
        .zip(pred)
        .map(|(t, p)| (t - p).abs() / t.abs().max(eps))
        .sum::<f64>()
        / n;
    let smape = truth
        .iter()
        .zip(pred)
        .map(|(t, p)| 2.0 * (t - p).abs() / (t.abs() + p.abs()).max(eps))
        .sum::<f64>()
        / n;
    // sktime divides by the scale or machine epsilon, whichever is larger
    // (a series its seasonal naive forecast fits exactly has no scale).
    vec![
        mae / scale_abs.max(eps),
        (rmse * rmse / scale_sq.max(eps)).sqrt(),
        mae,
        rmse,
        mape,
        smape,
        metrics::r2(truth, pred),
    ]
}

/// Nelder-Mead minimisation of `f` from `start` (initial steps `step`),
/// at most `iterations` steps; the best point found.
pub(crate) fn nelder_mead(
    f: &dyn Fn(&[f64]) -> f64,
    start: &[f64],
    step: &[f64],
    iterations: usize,
) -> Vec<f64> {
    let n = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), f(start)));
    for i in 0..n {
        let mut p = start.to_vec();
        p[i] += step[i];
        let v = f(&p);
        simplex.push((p, v));
    }
    for _ in 0..iterations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= 1e-10 * (best.abs() + 1e-10) {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(p, _)| p[j]).sum::<f64>() / n as f64)
            .collect();
        let toward = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&simplex[n].0)
                .map(|(c, w)| c + t * (w - c))
                .collect()
        };
        let reflected = toward(-1.0);
        let fr = f(&reflected);
        if fr < simplex[0].1 {
            let expanded = toward(-2.0);
            let fe = f(&expanded);
            simplex[n] = if fe < fr {
                (expanded, fe)
            } else {
                (reflected, fr)
            };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < worst {
                toward(-0.5)
            } else {
                toward(0.5)
            };
            let fc = f(&contracted);
            if fc < worst.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                let best_point = simplex[0].0.clone();
                for (p, v) in simplex.iter_mut().skip(1) {
                    for (x, b) in p.iter_mut().zip(&best_point) {
                        *x = b + 0.5 * (*x - b);
                    }
                    *v = f(p);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0).0
}

/// The airline series (144 monthly passenger counts), for tests.
#[cfg(test)]
pub(crate) fn airline() -> Vec<f64> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/ml/airline.csv"
    ))
    .expect("tests/data/ml/airline.csv");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_pycarets() {
        // PyCaret's setup(fh=12, fold=3) on 144 monthly points.
        assert_eq!(cutoffs(144, 12, 3).unwrap(), vec![96, 108, 120]);
        assert!(cutoffs(40, 12, 3).is_err());
    }

    #[test]
    fn baselines_forecast_by_hand() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(Forecaster::Naive.forecast(&y, 2, 1).unwrap(), [6.0, 6.0]);
        assert_eq!(
            Forecaster::SeasonalNaive.forecast(&y, 4, 3).unwrap(),
            [4.0, 5.0, 6.0, 4.0]
        );
        assert_eq!(Forecaster::GrandMeans.forecast(&y, 1, 1).unwrap(), [3.5]);
        let p = Forecaster::PolyTrend.forecast(&y, 2, 1).unwrap();
        assert!(
            (p[0] - 7.0).abs() < 1e-12 && (p[1] - 8.0).abs() < 1e-12,
            "{p:?}"
        );
    }

    #[test]
    fn metrics_by_hand() {
        // Training 1,3,2,4 with sp 1: naive errors 2,1,2 -> mean |.| 5/3,
        // root mean square sqrt(3). Truth 5,5; forecast 4,7.
        let s = scores(&[1.0, 3.0, 2.0, 4.0], &[5.0, 5.0], &[4.0, 7.0], 1);
        let mae = 1.5;
        let rmse = (2.5f64).sqrt();
        assert!((s[0] - mae / (5.0 / 3.0)).abs() < 1e-12);
        assert!((s[1] - rmse / 3f64.sqrt()).abs() < 1e-12);
        assert!((s[2] - mae).abs() < 1e-12 && (s[3] - rmse).abs() < 1e-12);
        assert!((s[4] - (0.2 + 0.4) / 2.0).abs() < 1e-12);
        assert!((s[5] - (2.0 / 9.0 + 4.0 / 12.0) / 2.0).abs() < 1e-12);
        // R2 with a constant truth: sklearn's convention (0 when not perfect).
        assert_eq!(s[6], 0.0);
        // No in-sample scale (the seasonal naive fits exactly): divided by
        // machine epsilon, as sktime does; a perfect forecast scores 0.
        let s = scores(&[1.0, 2.0, 1.0, 2.0], &[1.0, 2.0], &[1.0, 2.0], 2);
        assert_eq!((s[0], s[1]), (0.0, 0.0));
        let s = scores(&[1.0, 2.0, 1.0, 2.0], &[1.0, 2.0], &[2.0, 2.0], 2);
        assert_eq!(s[0], 0.5 / f64::EPSILON);
        assert!((s[1] - (0.5 / f64::EPSILON).sqrt()).abs() < 1e-3);
    }

    #[test]
    fn seasons_are_found() {
        let y: Vec<f64> = (0..120)
            .map(|t| 10.0 + 0.1 * t as f64 + 3.0 * ((t % 12) as f64 - 5.5).abs())
            .collect();
        assert_eq!(detect_sp(&y), 12);
        let noise: Vec<f64> = (0..60).map(|t| ((t * 7919) % 13) as f64).collect();
        assert!(detect_sp(&noise) != 12);
    }

    #[test]
    fn nelder_mead_finds_a_minimum() {
        let f = |p: &[f64]| (p[0] - 3.0).powi(2) + 10.0 * (p[1] + 1.0).powi(2);
        let x = nelder_mead(&f, &[0.0, 0.0], &[1.0, 1.0], 500);
        assert!(
            (x[0] - 3.0).abs() < 1e-4 && (x[1] + 1.0).abs() < 1e-4,
            "{x:?}"
        );
    }
}
