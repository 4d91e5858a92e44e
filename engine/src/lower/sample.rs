//! `SAMPLE [REPLACE] n ROWS | p PERCENT [SEED s] [FROM df]`.
//!
//! Each row gets a hash of its values and the seed (`fsql_row_hash`), so the
//! choice does not depend on partitioning: the same seed picks the same rows
//! on every engine. Without REPLACE, `p PERCENT` keeps rows whose hash falls
//! in the first p% of the hash range and `n ROWS` keeps the n smallest hashes.
//! With REPLACE the rows, ordered by hash, are drawn from n times (or
//! round(p% × count) times) with a ChaCha generator seeded by the seed.
//! Without SEED the seed is random.

use std::sync::Arc;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::common::ScalarValue;
use datafusion::dataframe::DataFrame;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{Expr, ident, lit};
use fsql_sql::{Sample, SampleMethod, Span};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{AtSpan, Error, Result};
use crate::session::Session;
use crate::udf::ROW_HASH;

pub(crate) async fn sample(s: &Session, x: &Sample, span: Span) -> Result<DataFrame> {
    let df = s.input(x.input.as_ref(), span).await?;
    let seed = x.seed.unwrap_or_else(rand::random);
    let udf = s.ctx.udf(ROW_HASH).at(span)?;
    let mut args: Vec<Expr> = vec![lit(ScalarValue::UInt64(Some(seed)))];
    args.extend(df.schema().fields().iter().map(|f| ident(f.name())));
    let hash = udf.call(args);
    if !x.replace {
        return match x.method {
            SampleMethod::Rows(n) => df
                .sort(vec![hash.sort(true, false)])
                .at(span)?
                .limit(0, Some(n as usize))
                .at(span),
            SampleMethod::Percent(p) => {
                if p >= 100.0 {
                    return Ok(df);
                }
                let threshold = (p / 100.0 * u64::MAX as f64) as u64;
                df.filter(hash.lt(lit(ScalarValue::UInt64(Some(threshold)))))
                    .at(span)
            }
        };
    }
    // With replacement: materialise in hash order, then draw indices.
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df
        .sort(vec![hash.sort(true, false)])
        .at(span)?
        .collect()
        .await
        .at(span)?;
    let all = concat_batches(&schema, &batches).map_err(|e| Error::at(span, e.to_string()))?;
    let total = all.num_rows();
    let draws = match x.method {
        SampleMethod::Rows(n) => n as usize,
        SampleMethod::Percent(p) => (total as f64 * p / 100.0).round() as usize,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let indices: Vec<u32> = if total == 0 {
        Vec::new()
    } else {
        (0..draws)
            .map(|_| rng.random_range(0..total) as u32)
            .collect()
    };
    let picked = take_record_batch(&all, &UInt32Array::from(indices))
        .map_err(|e| Error::at(span, e.to_string()))?;
    super::batch_frame(s, picked, span)
}
