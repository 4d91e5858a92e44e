//! fsql's own SQL functions, registered on every engine's context.
//!
//! `fsql_row_hash(seed, c1, c2, ...)`: a 64-bit hash of the row's values that
//! depends only on the values and the seed — not on partitioning, batch size
//! or engine — so SAMPLE picks the same rows everywhere.
//!
//! `fsql_checked_cast(try_cast(x AS t), x, 'x', 't', 'origin')`: passes the
//! cast values through, and fails naming the column, the value and the
//! statement that asked for the cast when a non-NULL value did not cast
//! (ALTER COLUMNS and LOAD ... COLUMNS use it: a bad cast is an error, not
//! NULL, and since plans run lazily the error says where the cast came from).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, UInt64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
    ident, lit, try_cast,
};

use crate::types::fugue_name;

pub(crate) const ROW_HASH: &str = "fsql_row_hash";
pub(crate) const CHECKED_CAST: &str = "fsql_checked_cast";

/// Every fsql function.
pub(crate) fn all() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(RowHash::new())),
        Arc::new(ScalarUDF::from(CheckedCast::new())),
    ]
}

/// `column` cast to `t`; a value that does not cast is an error naming the
/// column, the value and `origin` (the statement and its place).
pub(crate) fn checked_cast(column: &str, t: &DataType, origin: &str) -> Expr {
    checked(try_cast(ident(column), t.clone()), column, t, origin)
}

/// `converted` (`column` turned into `t`, NULL where it could not be);
/// a value that did not convert is an error as in [`checked_cast`].
pub(crate) fn checked(converted: Expr, column: &str, t: &DataType, origin: &str) -> Expr {
    ScalarUDF::from(CheckedCast::new()).call(vec![
        converted,
        ident(column),
        lit(column),
        lit(fugue_name(t)),
        lit(origin),
    ])
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CheckedCast {
    signature: Signature,
}

impl CheckedCast {
    fn new() -> Self {
        Self {
            signature: Signature::any(5, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for CheckedCast {
    fn name(&self) -> &str {
        CHECKED_CAST
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let [cast, original, column, ty, origin] = args.args.as_slice() else {
            return exec_err!("{CHECKED_CAST} takes 5 arguments");
        };
        let text = |v: &ColumnarValue| match v {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => s.clone(),
            other => format!("{other:?}"),
        };
        let cast_array = cast.to_array(n)?;
        let original_array = original.to_array(n)?;
        if let Some(i) = (0..n).find(|&i| cast_array.is_null(i) && !original_array.is_null(i)) {
            let options = FormatOptions::default();
            let value = ArrayFormatter::try_new(original_array.as_ref(), &options)?
                .value(i)
                .to_string();
            return exec_err!(
                "cannot cast '{value}' in column '{}' to {} ({})",
                text(column),
                text(ty),
                text(origin)
            );
        }
        Ok(cast.clone())
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowHash {
    signature: Signature,
}

impl RowHash {
    fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RowHash {
    fn name(&self) -> &str {
        ROW_HASH
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let mut it = args.args.into_iter();
        let seed = match it.next() {
            Some(ColumnarValue::Scalar(ScalarValue::UInt64(Some(s)))) => s,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(s)))) => s as u64,
            _ => {
                return exec_err!("{ROW_HASH}: the first argument must be a constant integer seed");
            }
        };
        let arrays: Vec<ArrayRef> = it.map(|a| a.into_array(n)).collect::<Result<_>>()?;
        Ok(ColumnarValue::Array(Arc::new(hash_rows(seed, &arrays, n)?)))
    }
}

/// Hashes each row of `arrays` (all of length `n`) with `seed`.
pub(crate) fn hash_rows(seed: u64, arrays: &[ArrayRef], n: usize) -> Result<UInt64Array> {
    if arrays.is_empty() {
        return Ok(UInt64Array::from(vec![mix(seed); n]));
    }
    let fields = arrays
        .iter()
        .map(|a| SortField::new(a.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let rows = converter.convert_columns(arrays)?;
    let hashes: Vec<u64> = (0..n)
        .map(|i| hash_bytes(seed, rows.row(i).as_ref()))
        .collect();
    Ok(UInt64Array::from(hashes))
}

/// FNV-1a over the bytes, then a SplitMix64 finaliser for uniform high bits.
fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ mix(seed);
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, StringArray};

    #[test]
    fn hash_depends_on_values_and_seed_only() {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(1)]));
        let b: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "x"]));
        let h = hash_rows(7, &[a.clone(), b.clone()], 3).unwrap();
        assert_eq!(h.value(0), h.value(2));
        assert_ne!(h.value(0), h.value(1));
        let h2 = hash_rows(8, &[a, b], 3).unwrap();
        assert_ne!(h.value(0), h2.value(0));
        // The same row alone in its batch hashes the same.
        let single: ArrayRef = Arc::new(Int32Array::from(vec![Some(1)]));
        let single_b: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        assert_eq!(
            hash_rows(7, &[single, single_b], 1).unwrap().value(0),
            h.value(0)
        );
    }
}
