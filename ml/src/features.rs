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

/// Whether [`Encoder::fit`] checks that the numbers are finite.
#[derive(Clone, Copy)]
pub(crate) enum Check<'a> {
    /// Not at all (the dummies never read the features).
    No,
    /// Already known, per column (read with the canonical order's hashes).
    Known(&'a [bool]),
}

impl Encoder {
    /// No features (a forecast model's).
    pub(crate) fn empty() -> Encoder {
        Encoder {
            features: Vec::new(),
            impute: Impute::None,
        }
    }

    /// Learns the encoding from the training columns: the levels of each
    /// text column; numbers are checked to be finite. The means NULLs are
    /// imputed with are learned by [`Encoder::encode_training`], in the
    /// training rows' canonical order (so they do not depend on how the
    /// engine ordered the rows).
    pub(crate) fn fit(
        columns: &[(String, Column)],
        impute: Impute,
        check: Check,
    ) -> Result<Encoder> {
        if columns.is_empty() {
            return Err(invalid("the training query has no feature columns"));
        }
        // Threads only for work: text levels to sort.
        let work =
            matches!(check, Check::No) || columns.iter().any(|(_, c)| matches!(c, Column::Text(_)));
        let threads = if work { crate::par::threads(None) } else { 1 };
        let encodings = crate::par::map(columns.len(), threads, |k| {
            let (name, col) = &columns[k];
            match col {
                Column::Numeric(..) => {
                    let finite = match check {
                        Check::No => true,
                        Check::Known(finite) => finite[k],
                    };
                    if !finite {
                        return Err(invalid(format!(
                            "feature column '{name}' holds NaN or infinite values"
                        )));
                    }
                    Ok(Encoding::Numeric { mean: 0.0 })
                }
                Column::Text(v) => {
                    let mut levels: Vec<&String> = v.iter().flatten().collect();
                    levels.sort_unstable();
                    levels.dedup();
                    Ok(Encoding::OneHot {
                        levels: levels.into_iter().cloned().collect(),
                    })
                }
            }
        });
        let mut features = Vec::with_capacity(columns.len());
        for ((name, _), encoding) in columns.iter().zip(encodings) {
            features.push(Feature {
                name: name.clone(),
                encoding: encoding?,
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
        Ok(self.encode_rows(columns, rows, false)?.0)
    }

    /// [`Encoder::encode`] for the training rows, in their canonical order:
    /// with `impute = 'mean'`, each numeric feature's mean is learned from
    /// these rows first (summed in this order, so the same on every engine).
    pub(crate) fn encode_training(
        &mut self,
        columns: &[&Column],
        rows: &[usize],
    ) -> Result<Matrix> {
        let learn = self.impute == Impute::Mean;
        let (m, means) = self.encode_rows(columns, rows, learn)?;
        for (f, learned) in self.features.iter_mut().zip(means) {
            if let (Encoding::Numeric { mean }, Some(x)) = (&mut f.encoding, learned) {
                *mean = x;
            }
        }
        Ok(m)
    }

    fn encode_rows(
        &self,
        columns: &[&Column],
        rows: &[usize],
        learn: bool,
    ) -> Result<(Matrix, Vec<Option<f64>>)> {
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
        // Per thread: (feature, learned mean) of the features it encoded.
        type Learned = Vec<(usize, Option<f64>)>;
        let results: Vec<Result<Learned>> = std::thread::scope(|s| {
            let mut chunks: Vec<Vec<(usize, &mut [f64])>> =
                (0..threads).map(|_| Vec::new()).collect();
            for (k, job) in jobs.into_iter().enumerate() {
                chunks[k % threads].push(job);
            }
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    s.spawn(move || -> Result<Learned> {
                        let mut means = Vec::new();
                        for (fi, out) in chunk {
                            means.push((
                                fi,
                                self.encode_feature(fi, columns[fi], rows, out, learn)?,
                            ));
                        }
                        Ok(means)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut means = vec![None; self.features.len()];
        for r in results {
            for (fi, m) in r? {
                means[fi] = m;
            }
        }
        // SAFETY: every slice was filled.
        unsafe { values.set_len(n * width) };
        Ok((Matrix::from_columns(n, width, values), means))
    }

    /// `x · wₖ + bₖ` for each of `m`'s outputs over the rows `rows`, read
    /// from the columns (no matrix): the same operations in the same order
    /// as [`Matrix::dot`] on the encoded rows, so the same numbers.
    pub(crate) fn decision(
        &self,
        columns: &[&Column],
        rows: &[usize],
        m: &crate::linear::LinearModel,
    ) -> Result<Vec<Vec<f64>>> {
        let n = rows.len();
        // A block of consecutive rows is read as slices.
        let span = match (rows.first(), rows.last()) {
            (Some(&a), Some(&b)) if b - a + 1 == n => Some(a..b + 1),
            _ => None,
        };
        let mut outputs = Vec::with_capacity(m.coef.len());
        for (w, b) in m.coef.iter().zip(&m.intercept) {
            let mut out = vec![*b; n];
            let mut j = 0;
            for (f, col) in self.features.iter().zip(columns) {
                match (&f.encoding, col) {
                    (Encoding::Numeric { mean }, Column::Numeric(v, valid)) => {
                        let wj = w[j];
                        j += 1;
                        if wj == 0.0 {
                            continue;
                        }
                        match (valid, &span) {
                            (None, Some(r)) => {
                                for (o, x) in out.iter_mut().zip(&v[r.clone()]) {
                                    *o += wj * x;
                                }
                            }
                            (None, None) => {
                                for (o, &i) in out.iter_mut().zip(rows) {
                                    *o += wj * v[i];
                                }
                            }
                            (Some(ok), _) => {
                                for (o, &i) in out.iter_mut().zip(rows) {
                                    let x = if ok[i] {
                                        v[i]
                                    } else if self.impute == Impute::Mean {
                                        *mean
                                    } else {
                                        return Err(null_error(&f.name, i));
                                    };
                                    *o += wj * x;
                                }
                            }
                        }
                    }
                    (Encoding::OneHot { levels }, Column::Text(v)) => {
                        let weights = &w[j..j + levels.len()];
                        j += levels.len();
                        for (o, &i) in out.iter_mut().zip(rows) {
                            let level = match &v[i] {
                                Some(x) => levels.binary_search(x).ok(),
                                None if self.impute == Impute::Mean => None,
                                None => return Err(null_error(&f.name, i)),
                            };
                            if let Some(l) = level
                                && weights[l] != 0.0
                            {
                                *o += weights[l];
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
            }
            outputs.push(out);
        }
        Ok(outputs)
    }

    /// Feature `fi`'s encoded column(s) of `rows` into `out`. With `learn`,
    /// a numeric feature's mean over these rows is learned (and returned)
    /// before its NULLs are imputed with it.
    fn encode_feature(
        &self,
        fi: usize,
        col: &Column,
        rows: &[usize],
        out: &mut [f64],
        learn: bool,
    ) -> Result<Option<f64>> {
        let f = &self.features[fi];
        match (&f.encoding, col) {
            (Encoding::Numeric { mean }, Column::Numeric(v, valid)) => {
                for (o, &i) in out.iter_mut().zip(rows) {
                    *o = v[i];
                }
                let Some(ok) = valid else {
                    return Ok(learn.then(|| lane_sum(out) / out.len().max(1) as f64));
                };
                if self.impute != Impute::Mean {
                    if let Some(&i) = rows.iter().find(|&&i| !ok[i]) {
                        return Err(null_error(&f.name, i));
                    }
                    return Ok(None);
                }
                let mut present = 0usize;
                for (o, &i) in out.iter_mut().zip(rows) {
                    if ok[i] {
                        present += 1;
                    } else {
                        *o = 0.0;
                    }
                }
                let mean = if !learn {
                    *mean
                } else if present == 0 {
                    0.0
                } else {
                    lane_sum(out) / present as f64
                };
                for (o, &i) in out.iter_mut().zip(rows) {
                    if !ok[i] {
                        *o = mean;
                    }
                }
                return Ok(learn.then_some(mean));
            }
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
        Ok(None)
    }
}

/// The sum of `v` in a fixed order of eight lanes (vectorised; the same
/// for the same `v`).
fn lane_sum(v: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let chunks = v.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    lanes.iter().sum::<f64>() + tail
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
        let mut enc = Encoder::fit(&cols, Impute::Mean, Check::No).unwrap();
        let aligned = enc.align(&cols).unwrap();
        let m = enc.encode_training(&aligned, &[0, 1, 2]).unwrap();
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
        let enc = Encoder::fit(&cols, Impute::None, Check::No).unwrap();
        let aligned = enc.align(&cols).unwrap();
        let err = enc.encode(&aligned, &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("'x' has NULL values"), "{err}");
    }

    #[test]
    fn missing_and_mistyped_features_are_named() {
        let enc = Encoder::fit(&cols(), Impute::None, Check::No).unwrap();
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
