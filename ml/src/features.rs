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
    /// Integers, floats, decimals and booleans (as 0/1).
    Numeric(Vec<Option<f64>>),
    /// Strings: one-hot encoded.
    Text(Vec<Option<String>>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Column::Numeric(v) => v[row].is_none(),
            Column::Text(v) => v[row].is_none(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Column::Numeric(_) => "numeric",
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
                Column::Numeric(v) => {
                    let present: Vec<f64> = v.iter().flatten().copied().collect();
                    if present.iter().any(|x| !x.is_finite()) {
                        return Err(invalid(format!(
                            "feature column '{name}' holds NaN or infinite values"
                        )));
                    }
                    let mean = if present.is_empty() {
                        0.0
                    } else {
                        present.iter().sum::<f64>() / present.len() as f64
                    };
                    Encoding::Numeric { mean }
                }
                Column::Text(v) => {
                    let mut levels: Vec<String> = v.iter().flatten().cloned().collect();
                    levels.sort();
                    levels.dedup();
                    Encoding::OneHot { levels }
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
    /// the one copy of the training data an estimator fits on. A NULL is an
    /// error unless the encoder imputes.
    pub(crate) fn encode(&self, columns: &[&Column], rows: &[usize]) -> Result<Matrix> {
        let width = self.width();
        let mut values: Vec<f64> = alloc(rows.len() * width)?;
        for (f, col) in self.features.iter().zip(columns) {
            match (&f.encoding, col) {
                (Encoding::Numeric { mean }, Column::Numeric(v)) => {
                    for &i in rows {
                        match v[i] {
                            Some(x) => values.push(x),
                            None if self.impute == Impute::Mean => values.push(*mean),
                            None => return Err(null_error(&f.name, i)),
                        }
                    }
                }
                (Encoding::OneHot { levels }, Column::Text(v)) => {
                    // The level of each row once, then one column per level.
                    let mut code = Vec::with_capacity(rows.len());
                    for &i in rows {
                        code.push(match &v[i] {
                            Some(x) => levels.binary_search(x).ok(),
                            None if self.impute == Impute::Mean => None,
                            None => return Err(null_error(&f.name, i)),
                        });
                    }
                    for l in 0..levels.len() {
                        values.extend(code.iter().map(|c| if *c == Some(l) { 1.0 } else { 0.0 }));
                    }
                }
                _ => {
                    return Err(invalid(format!(
                        "feature column '{}' changed type since training",
                        f.name
                    )));
                }
            }
        }
        if width == 0 {
            return Err(invalid(
                "the features encode to no columns (text columns with no values); add a feature with values",
            ));
        }
        Ok(Matrix::from_columns(rows.len(), width, values))
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
                Column::Numeric(vec![Some(1.0), None, Some(3.0)]),
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
        let only_x = vec![("x".to_string(), Column::Numeric(vec![Some(1.0)]))];
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
