//! A stored forecast model: per series, the forecaster chosen for it, its
//! seasonal period, its whole history and the last time it was seen at.
//! Forecasting from a stored model refits the forecaster on the history
//! (every model here is cheap to fit on a series), so the model is exactly
//! what COMPARE MODELS scored, fitted on all points.

use serde::{Deserialize, Serialize};

use super::Forecaster;
use crate::error::{Result, invalid};

/// The fitted state of a forecast model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastFit {
    /// The column that orders the points.
    pub time_column: String,
    /// Its type as the engine names it (Arrow's `DataType` text).
    pub time_type: String,
    /// The series key columns (none: one series).
    pub keys: Vec<String>,
    pub series: Vec<SeriesFit>,
}

/// One series of a forecast model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesFit {
    /// The key values as text (NULL as None); empty for a single series.
    pub key: Vec<Option<String>>,
    pub forecaster: Forecaster,
    /// The seasonal period (1: none).
    pub sp: usize,
    /// Every point, in time order.
    pub history: Vec<f64>,
    /// The last time value, as text.
    pub last_time: String,
}

impl ForecastFit {
    /// The series with key `key`, if the model has one.
    pub fn find(&self, key: &[Option<String>]) -> Option<&SeriesFit> {
        self.series.iter().find(|s| s.key == key)
    }

    /// Facts for DESCRIBE MODEL: the time column, and each series' model.
    pub fn facts(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            "time_column".to_string(),
            format!("{} ({})", self.time_column, self.time_type),
        )];
        if !self.keys.is_empty() {
            out.push(("series_keys".to_string(), self.keys.join(", ")));
        }
        for s in &self.series {
            let label = if s.key.is_empty() {
                "series".to_string()
            } else {
                format!("series {}", show_key(&s.key))
            };
            out.push((
                label,
                format!(
                    "{} (sp {}), {} points up to {}",
                    s.forecaster.id(),
                    s.sp,
                    s.history.len(),
                    s.last_time
                ),
            ));
        }
        out
    }
}

impl SeriesFit {
    /// The next `steps` values after the history.
    pub fn forecast(&self, steps: usize) -> Result<Vec<f64>> {
        if steps == 0 {
            return Ok(Vec::new());
        }
        if self.history.is_empty() {
            return Err(invalid("the series has no points"));
        }
        self.forecaster.forecast(&self.history, steps, self.sp)
    }
}

/// A key as the leaderboard shows it: the values joined by '/'.
pub fn show_key(key: &[Option<String>]) -> String {
    key.iter()
        .map(|k| k.clone().unwrap_or_else(|| "NULL".to_string()))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_forecast_from_their_history() {
        let fit = ForecastFit {
            time_column: "t".into(),
            time_type: "Int64".into(),
            keys: vec!["k".into()],
            series: vec![
                SeriesFit {
                    key: vec![Some("a".into())],
                    forecaster: Forecaster::PolyTrend,
                    sp: 1,
                    history: vec![1.0, 3.0, 5.0, 7.0],
                    last_time: "4".into(),
                },
                SeriesFit {
                    key: vec![None],
                    forecaster: Forecaster::SeasonalNaive,
                    sp: 2,
                    history: vec![1.0, 2.0, 3.0, 4.0],
                    last_time: "4".into(),
                },
            ],
        };
        let a = fit.find(&[Some("a".into())]).unwrap().forecast(2).unwrap();
        assert!(
            (a[0] - 9.0).abs() < 1e-9 && (a[1] - 11.0).abs() < 1e-9,
            "{a:?}"
        );
        assert_eq!(
            fit.find(&[None]).unwrap().forecast(3).unwrap(),
            [3.0, 4.0, 3.0]
        );
        assert!(fit.find(&[Some("b".into())]).is_none());
        let facts = fit.facts();
        assert_eq!(facts[1], ("series_keys".into(), "k".into()));
        assert_eq!(
            facts[3],
            (
                "series NULL".into(),
                "snaive (sp 2), 4 points up to 4".into()
            )
        );
    }
}
