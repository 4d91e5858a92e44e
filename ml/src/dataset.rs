//! Training rows prepared once: checked, put in the canonical row order
//! (see `order.rs`), encoded into one feature matrix, with the target as
//! class indices or numbers. CREATE MODEL fits on all of it; a model
//! comparison fits and scores every fold on subsets of its rows.

use crate::error::{Result, invalid};
use crate::features::{Check, Column, Encoder, Impute, Label, TargetKind};
use crate::matrix::Matrix;
use crate::model::Target;
use crate::order::{ClassIndex, canonical_order, distinct_sorted};

/// Prepared training rows.
pub struct Dataset {
    pub(crate) encoder: Encoder,
    /// The features of the kept rows, in canonical order (no columns when
    /// the features are not read: the dummies).
    pub(crate) x: Matrix,
    /// A classifier's class index per row (into `labels`).
    pub(crate) classes: Vec<u32>,
    /// A classifier's labels, sorted.
    pub(crate) labels: Vec<Label>,
    pub(crate) target_kind: Option<TargetKind>,
    /// A regressor's target per row.
    pub(crate) numbers: Vec<f64>,
}

impl Dataset {
    /// Prepares `features` and `target` (None: clustering). With
    /// `read_features` false (the dummies, whose fits ignore the features
    /// and the row order) the rows keep their order and no matrix is built.
    pub fn prepare(
        features: &[(String, Column)],
        target: Option<Target>,
        impute: Impute,
        target_name: &str,
        read_features: bool,
    ) -> Result<Dataset> {
        let rows = features.first().map_or(0, |(_, c)| c.len());
        // Training sees the rows in one canonical order, so the model does
        // not depend on how the engine partitioned and returned them. Only
        // indices move: the matrix is built in this order from the
        // collected columns, the one copy of the data.
        // The order's pass over the values also finds NaN and infinities;
        // scikit-learn's dummies do not check the feature values at all.
        let (canonical, finite) = if read_features {
            let (order, finite) = canonical_order(features, target.as_ref(), rows);
            (Some(order), Some(finite))
        } else {
            (None, None)
        };
        let check = finite.as_deref().map_or(Check::No, Check::Known);
        let mut encoder = Encoder::fit(features, impute, check)?;
        let aligned = encoder.align(features)?;
        // Rows kept for training: with impute = 'drop', those without NULLs.
        let mut keep = vec![true; rows];
        if impute == Impute::Drop {
            for (k, null) in keep.iter_mut().zip(Encoder::null_rows(features, rows)) {
                *k = !null;
            }
        }
        let target_null = || {
            invalid(format!(
                "target column '{target_name}' has NULL values; filter them out or add WITH (impute = 'drop')"
            ))
        };
        let mut labels: Vec<Label> = Vec::new();
        let mut target_kind = None;
        match &target {
            Some(Target::Labels(kind, values)) => {
                target_kind = Some(*kind);
                labels = distinct_sorted(values);
                for (i, v) in values.iter().enumerate() {
                    match v {
                        None if impute == Impute::Drop => keep[i] = false,
                        None => return Err(target_null()),
                        Some(_) => {}
                    }
                }
            }
            Some(Target::Numbers(values)) => {
                target_kind = Some(TargetKind::Float);
                for (i, v) in values.iter().enumerate() {
                    match v {
                        None if impute == Impute::Drop => keep[i] = false,
                        None => return Err(target_null()),
                        Some(x) if !x.is_finite() => {
                            return Err(invalid(format!(
                                "target column '{target_name}' holds NaN or infinity ({x})"
                            )));
                        }
                        Some(_) => {}
                    }
                }
            }
            None => {}
        }
        // The rows in training order; None: all of them as they came (the
        // dummies read no feature, and their fit does not depend on order).
        let order: Option<Vec<usize>> = if let Some(mut order) = canonical {
            order.retain(|i| keep[*i]);
            Some(order)
        } else if keep.iter().all(|k| *k) {
            None
        } else {
            Some((0..rows).filter(|i| keep[*i]).collect())
        };
        if order.as_ref().map_or(rows, Vec::len) == 0 {
            return Err(invalid("the training query returned no rows"));
        }
        let mut classes: Vec<u32> = Vec::new();
        let mut numbers: Vec<f64> = Vec::new();
        match &target {
            Some(Target::Labels(_, values)) => {
                let index = ClassIndex::new(&labels);
                let class = |v: &Option<Label>| {
                    let l = v.as_ref().expect("NULL rows are dropped");
                    index.of(l).expect("label is known")
                };
                classes = match &order {
                    Some(order) => order.iter().map(|&i| class(&values[i])).collect(),
                    None => values.iter().map(class).collect(),
                };
            }
            Some(Target::Numbers(values)) => {
                let number = |v: &Option<f64>| v.expect("NULL rows are dropped");
                numbers = match &order {
                    Some(order) => order.iter().map(|&i| number(&values[i])).collect(),
                    None => values.iter().map(number).collect(),
                };
            }
            None => {}
        }
        let x = match &order {
            Some(order) if read_features => encoder.encode_training(&aligned, order)?,
            Some(order) => Matrix::from_columns(order.len(), 0, Vec::new()),
            None => Matrix::from_columns(rows, 0, Vec::new()),
        };
        Ok(Dataset {
            encoder,
            x,
            classes,
            labels,
            target_kind,
            numbers,
        })
    }

    /// Number of (kept) rows.
    pub fn rows(&self) -> usize {
        self.x.rows()
    }

    /// A classifier's class index per row, in canonical order (empty for
    /// other tasks).
    pub fn classes(&self) -> &[u32] {
        &self.classes
    }

    /// A classifier's labels, in class-index order.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    pub fn target_kind(&self) -> Option<TargetKind> {
        self.target_kind
    }

    /// A regressor's target per row, in canonical order.
    pub fn numbers(&self) -> &[f64] {
        &self.numbers
    }

    /// The matrix and targets of the rows `rows` (all when None).
    pub(crate) fn subset(&self, rows: Option<&[usize]>) -> Result<(Matrix, Vec<u32>, Vec<f64>)> {
        let Some(rows) = rows else {
            return Ok((self.x.clone(), self.classes.clone(), self.numbers.clone()));
        };
        let pick = |v: &[u32]| rows.iter().map(|&i| v[i]).collect::<Vec<u32>>();
        let classes = if self.classes.is_empty() {
            Vec::new()
        } else {
            pick(&self.classes)
        };
        let numbers = if self.numbers.is_empty() {
            Vec::new()
        } else {
            rows.iter().map(|&i| self.numbers[i]).collect()
        };
        Ok((self.x.select_rows(rows)?, classes, numbers))
    }
}
