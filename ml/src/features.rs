//! Columns in, feature matrix out: numeric columns are used as they are,
//! text columns are one-hot encoded, NULLs are refused, imputed with the
//! training mean, or their rows dropped. The fitted [`Encoder`] is stored
//! with the model so PREDICT encodes exactly as training did.

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::matrix::{Matrix, alloc};

/// One input column, as the engine hands it over.
#[derive(Debug, Clone)]
pub enum Column {
    /// Integers, floats, decimals and booleans (as 0/1): the values (any
    /// number where NULL) and, when there are NULLs, which are valid.
    Numeric(Vec<f64>, Option<Vec<bool>>),
    /// Strings: one-hot encoded.
    Text(Vec<Option<String>>),
}

impl Column {
    /// A numeric column from optional values.
    pub fn numbers(values: Vec<Option<f64>>) -> Column {
        let valid: Vec<bool> = values.iter().map(Option::is_some).collect();
        let dense = values.iter().map(|v| v.unwrap_or(0.0)).collect();
        Column::Numeric(dense, valid.contains(&false).then_some(valid))
    }

    /// Value `i` of a numeric column (None where NULL or for text).
    pub fn number(&self, i: usize) -> Option<f64> {
        match self {
            Column::Numeric(v, valid) => match valid {
                Some(ok) if !ok[i] => None,
                _ => Some(v[i]),
            },
            Column::Text(_) => None,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v, _) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Column::Numeric(_, valid) => valid.as_ref().is_some_and(|ok| !ok[row]),
            Column::Text(v) => v[row].is_none(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Column::Numeric(..) => "numeric",
            Column::Text(_) => "text",
        }
    }
}

/// A class label of a classifier's target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Label {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::Bool(b) => write!(f, "{b}"),
            Label::Int(i) => write!(f, "{i}"),
            Label::Text(s) => f.write_str(s),
        }
    }
}

/// The type of the target column, so PREDICT returns the same type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Bool,
    Int,
    Float,
    Text,
}

/// What to do with NULL features (and targets) while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    /// NULLs are an error.
    #[default]
    None,
    /// A NULL number becomes the training mean; a NULL string matches no
    /// level (all its one-hot columns are 0).
    Mean,
    /// Training drops rows with a NULL; PREDICT gives NULL for them.
    Drop,
}

impl Impute {
    pub fn parse(text: &str) -> Result<Impute> {
        match text.to_ascii_lowercase().as_str() {
            "none" | "error" => Ok(Impute::None),
            "mean" => Ok(Impute::Mean),
            "drop" => Ok(Impute::Drop),
            _ => Err(invalid(format!(
                "impute must be 'mean' or 'drop', not '{text}'"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Impute::None => "none",
            Impute::Mean => "mean",
            Impute::Drop => "drop",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Encoding {
    Numeric { mean: f64 },
    OneHot { levels: Vec<String> },
}

/// One feature column: its name, what it was at training and how it is
/// encoded.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Feature {
    name: String,
    encoding: Encoding,
}

/// The fitted preprocessing of a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Encoder {
    features: Vec<Feature>,
    impute: Impute,
}

impl Encoder {
    /// Learns the encoding from the training columns.
    pub(crate) fn fit(columns: &[(String, Column)], impute: Impute) -> Result<Encoder> {
        if columns.is_empty() {
            return Err(invalid("the training query has no feature columns"));
        }
        let mut features = Vec::with_capacity(columns.len());
        for (name, col) in columns {
            let encoding = match col {
                Column::Numeric(v, valid) => {
                    let (mut sum, mut count, mut finite) = (0.0, 0usize, true);
                    for (i, x) in v.iter().enumerate() {
                        if valid.as_ref().is_some_and(|ok| !ok[i]) {
                            continue;
                        }
                        finite &= x.is_finite();
                        sum += x;
                        count += 1;
                    }
                    if !finite {
                        return Err(invalid(format!(
                            "feature column '{name}' holds NaN or infinite values"
                        )));
                    }
                    let mean = if count == 0 { 0.0 } else { sum / count as f64 };
                    Encoding::Numeric { mean }
                }
                Column::Text(v) => {
                    let mut levels: Vec<&String> = v.iter().flatten().collect();
                    levels.sort_unstable();
                    levels.dedup();
                    Encoding::OneHot {
                        levels: levels.into_iter().cloned().collect(),
                    }
                }
            };
            features.push(Feature {
                name: name.clone(),
                encoding,
            });
        }
        Ok(Encoder { features, impute })
    }

    /// The feature names in training order.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    /// `(name, numeric|text)` of each feature.
    pub(crate) fn describe(&self) -> Vec<(String, String)> {
        self.features
            .iter()
            .map(|f| {
                let kind = match &f.encoding {
                    Encoding::Numeric { .. } => "numeric".to_string(),
                    Encoding::OneHot { levels } => {
                        format!("text, one-hot over {} levels", levels.len())
                    }
                };
                (f.name.clone(), kind)
            })
            .collect()
    }

    pub(crate) fn impute(&self) -> Impute {
        self.impute
    }

    /// Width of the encoded matrix.
    fn width(&self) -> usize {
        self.features
            .iter()
            .map(|f| match &f.encoding {
                Encoding::Numeric { .. } => 1,
                Encoding::OneHot { levels } => levels.len(),
            })
            .sum()
    }

    /// Rows that have a NULL in any feature.
    pub(crate) fn null_rows(columns: &[(String, Column)], rows: usize) -> Vec<bool> {
        (0..rows)
            .map(|r| columns.iter().any(|(_, c)| c.is_null(r)))
            .collect()
    }

    /// Checks that `columns` are the features, by name and kind, and returns
    /// them in training order.
    pub(crate) fn align<'a>(&self, columns: &'a [(String, Column)]) -> Result<Vec<&'a Column>> {
        let mut out = Vec::with_capacity(self.features.len());
        for f in &self.features {
            let found = columns.iter().find(|(n, _)| n == &f.name).or_else(|| {
                columns
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&f.name))
            });
            let Some((_, col)) = found else {
                let have: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
                return Err(invalid(format!(
                    "the input has no feature column '{}' (the model was trained on: {}; the input has: {})",
                    f.name,
                    self.names().join(", "),
                    have.join(", ")
                )));
            };
            let expected = match f.encoding {
                Encoding::Numeric { .. } => "numeric",
                Encoding::OneHot { .. } => "text",
            };
            if col.kind() != expected {
                return Err(invalid(format!(
                    "feature column '{}' is {} but the model was trained on a {} column",
                    f.name,
                    col.kind(),
                    expected
                )));
            }
            out.push(col);
        }
        Ok(out)
    }

    /// The feature matrix of the rows `rows` (in that order), column-major,
    /// the one copy of the training data an estimator fits on; columns are
    /// filled on several cores. A NULL is an error unless the encoder imputes.
    pub(crate) fn encode(&self, columns: &[&Column], rows: &[usize]) -> Result<Matrix> {
        let width = self.width();
        if width == 0 {
            return Err(invalid(
                "the features encode to no columns (text columns with no values); add a feature with values",
            ));
        }
        let n = rows.len();
        let mut values: Vec<f64> = alloc(n * width)?;
        // SAFETY: f64 has no invalid bit patterns, and every value is written
        // below (each feature's slice by `encode_feature`) before `set_len`.
        let whole: &mut [f64] = unsafe {
            std::slice::from_raw_parts_mut(
                values.spare_capacity_mut().as_mut_ptr().cast::<f64>(),
                n * width,
            )
        };
        // Each feature's slice of the matrix.
        let mut slices: Vec<&mut [f64]> = Vec::with_capacity(self.features.len());
        let mut rest = whole;
        for f in &self.features {
            let w = match &f.encoding {
                Encoding::Numeric { .. } => 1,
                Encoding::OneHot { levels } => levels.len(),
            };
            let (head, tail) = rest.split_at_mut(w * n);
            slices.push(head);
            rest = tail;
        }
        let threads = crate::par::threads(None).min(self.features.len());
        let jobs: Vec<(usize, &mut [f64])> = slices.into_iter().enumerate().collect();
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let mut chunks: Vec<Vec<(usize, &mut [f64])>> =
                (0..threads).map(|_| Vec::new()).collect();
            for (k, job) in jobs.into_iter().enumerate() {
                chunks[k % threads].push(job);
            }
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    s.spawn(move || -> Result<()> {
                        for (fi, out) in chunk {
                            self.encode_feature(fi, columns[fi], rows, out)?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        for r in results {
            r?;
        }
        // SAFETY: every slice was filled.
        unsafe { values.set_len(n * width) };
        Ok(Matrix::from_columns(n, width, values))
    }

    /// Feature `fi`'s encoded column(s) of `rows` into `out`.
    fn encode_feature(
        &self,
        fi: usize,
        col: &Column,
        rows: &[usize],
        out: &mut [f64],
    ) -> Result<()> {
        let f = &self.features[fi];
        match (&f.encoding, col) {
            (Encoding::Numeric { mean }, Column::Numeric(v, valid)) => match valid {
                None => {
                    for (o, &i) in out.iter_mut().zip(rows) {
                        *o = v[i];
                    }
                }
                Some(ok) => {
                    for (o, &i) in out.iter_mut().zip(rows) {
                        *o = if ok[i] {
                            v[i]
                        } else if self.impute == Impute::Mean {
                            *mean
                        } else {
                            return Err(null_error(&f.name, i));
                        };
                    }
                }
            },
            (Encoding::OneHot { levels }, Column::Text(v)) => {
                let n = rows.len();
                out.iter_mut().for_each(|o| *o = 0.0);
                for (k, &i) in rows.iter().enumerate() {
                    let level = match &v[i] {
                        Some(x) => levels.binary_search(x).ok(),
                        None if self.impute == Impute::Mean => None,
                        None => return Err(null_error(&f.name, i)),
                    };
                    if let Some(l) = level {
                        out[l * n + k] = 1.0;
                    }
                }
            }
            _ => {
                return Err(invalid(format!(
                    "feature column '{}' changed type since training",
                    f.name
                )));
            }
        }
        Ok(())
    }
}

fn null_error(name: &str, _row: usize) -> crate::MlError {
    invalid(format!(
        "feature column '{name}' has NULL values; add WITH (impute = 'mean') or (impute = 'drop') to the model, or filter the NULLs out"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<(String, Column)> {
        vec![
            (
                "x".into(),
                Column::numbers(vec![Some(1.0), None, Some(3.0)]),
            ),
            (
                "c".into(),
                Column::Text(vec![Some("b".into()), Some("a".into()), Some("b".into())]),
            ),
        ]
    }

    #[test]
    fn one_hot_and_mean_imputation() {
        let cols = cols();
        let enc = Encoder::fit(&cols, Impute::Mean).unwrap();
        let aligned = enc.align(&cols).unwrap();
        let m = enc.encode(&aligned, &[0, 1, 2]).unwrap();
        assert_eq!((m.rows(), m.cols()), (3, 3));
        // x (NULL -> mean 2), c=a, c=b
        assert_eq!(m.get(1, 0), 2.0);
        assert_eq!(m.get(1, 1), 1.0);
        assert_eq!(m.get(0, 2), 1.0);
        // Rows come in the order asked for.
        let m = enc.encode(&aligned, &[2, 0]).unwrap();
        assert_eq!(m.get(0, 0), 3.0);
    }

    #[test]
    fn nulls_are_an_error_without_impute() {
        let cols = cols();
        let enc = Encoder::fit(&cols, Impute::None).unwrap();
        let aligned = enc.align(&cols).unwrap();
        let err = enc.encode(&aligned, &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("'x' has NULL values"), "{err}");
    }

    #[test]
    fn missing_and_mistyped_features_are_named() {
        let enc = Encoder::fit(&cols(), Impute::None).unwrap();
        let only_x = vec![("x".to_string(), Column::numbers(vec![Some(1.0)]))];
        let err = enc.align(&only_x).unwrap_err().to_string();
        assert!(err.contains("no feature column 'c'"), "{err}");
        let typed = vec![
            ("x".to_string(), Column::Text(vec![Some("1".into())])),
            ("c".to_string(), Column::Text(vec![Some("a".into())])),
        ];
        let err = enc.align(&typed).unwrap_err().to_string();
        assert!(
            err.contains("'x' is text but the model was trained on a numeric"),
            "{err}"
        );
    }
}
