//! [`Accumulator`]: the best n rows of every key group of one partition.
//!
//! Rows are compared in arrow's row format: a group's key is its key
//! columns' row bytes; a row's rank is its order columns' row bytes, which
//! compare as the PRESORT then tie breakers do. Most rows only need the
//! PRESORT bytes: a row worse than its group's n-th kept row is dropped
//! before the tie breakers are encoded. Kept rows point into the input
//! batches they came from; when those batches hold mostly dropped rows they
//! are compacted, so memory stays proportional to the rows kept.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::{SortOptions, interleave_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::Result;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::execution::memory_pool::MemoryReservation;
use smallvec::SmallVec;

use super::TopNSpec;
use super::groups::{Groups, prefetch, prefix};

/// A kept row: its rank bytes (PRESORT then tie breakers; short ones in
/// place, not on the heap), their [`prefix`] (compared first, so the bytes
/// are rarely read), and where the row is.
struct Kept {
    prefix: u64,
    rank: SmallVec<[u8; 16]>,
    batch: u32,
    row: u32,
}

/// The best `n` rows of every key group seen so far, in one partition.
pub(crate) struct Accumulator {
    n: usize,
    schema: SchemaRef,
    keys: (Vec<usize>, RowConverter),
    /// The PRESORT columns alone, and with the tie breakers after them.
    presort: (Vec<usize>, RowConverter),
    full: Option<(Vec<usize>, RowConverter)>,
    groups: Groups,
    random: RandomState,
    hashes: Vec<u64>,
    /// The current batch's group per row, and the rows that may be kept.
    gids: Vec<u32>,
    candidates: Vec<u32>,
    /// Per group, its kept rows, best first.
    kept: Vec<Vec<Kept>>,
    kept_rows: usize,
    batches: Vec<RecordBatch>,
    batch_rows: usize,
    /// Memory of `batches`, as reserved from the pool.
    batch_bytes: usize,
    /// Rows held in batches beyond twice the kept before compacting.
    slack: usize,
    reservation: MemoryReservation,
}

/// How many rows ahead a pass asks for the memory a row will need.
const AHEAD: usize = 16;

/// Default `slack`: about 32 batches of dropped rows.
const SLACK_ROWS: usize = 1 << 18;

impl Accumulator {
    pub(crate) fn try_new(
        spec: &TopNSpec,
        schema: &SchemaRef,
        reservation: MemoryReservation,
    ) -> Result<Self> {
        let converter = |range: &[super::OrderKey]| -> Result<(Vec<usize>, RowConverter)> {
            let mut idx = Vec::with_capacity(range.len());
            let mut fields = Vec::with_capacity(range.len());
            for o in range {
                let i = schema.index_of(&o.column)?;
                idx.push(i);
                let options = SortOptions {
                    descending: o.descending,
                    nulls_first: o.nulls_first,
                };
                fields.push(SortField::new_with_options(
                    schema.field(i).data_type().clone(),
                    options,
                ));
            }
            Ok((idx, RowConverter::new(fields)?))
        };
        let mut key_idx = Vec::with_capacity(spec.keys.len());
        let mut key_fields = Vec::with_capacity(spec.keys.len());
        for k in &spec.keys {
            let i = schema.index_of(k)?;
            key_idx.push(i);
            key_fields.push(SortField::new(schema.field(i).data_type().clone()));
        }
        let full = if spec.order.len() > spec.presort {
            Some(converter(&spec.order)?)
        } else {
            None
        };
        Ok(Self {
            n: spec.n,
            schema: Arc::clone(schema),
            keys: (key_idx, RowConverter::new(key_fields)?),
            presort: converter(&spec.order[..spec.presort])?,
            full,
            groups: Groups::default(),
            random: RandomState::with_seed(0),
            hashes: Vec::new(),
            gids: Vec::new(),
            candidates: Vec::new(),
            kept: Vec::new(),
            kept_rows: 0,
            batches: Vec::new(),
            batch_rows: 0,
            batch_bytes: 0,
            slack: SLACK_ROWS,
            reservation,
        })
    }

    /// Takes a batch's rows in three passes, each a tight loop so that the
    /// cache misses of its rows overlap: every row's group; the rows whose
    /// rank prefix does not lose to their group's n-th kept row (as it was
    /// before this batch: it only gets better, so a row dropped here would
    /// be dropped later too); then those few rows, one by one.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 || self.n == 0 {
            return Ok(());
        }
        let rows = batch.num_rows();
        let columns = |idx: &[usize]| -> Vec<ArrayRef> {
            idx.iter().map(|&i| Arc::clone(batch.column(i))).collect()
        };
        let key_columns = columns(&self.keys.0);
        let keys = self.keys.1.convert_columns(&key_columns)?;
        self.hashes.clear();
        self.hashes.resize(rows, 0);
        create_hashes(&key_columns, &self.random, &mut self.hashes)?;
        self.gids.clear();
        for (r, &hash) in self.hashes.iter().enumerate() {
            if let Some(&ahead) = self.hashes.get(r + AHEAD) {
                self.groups.prefetch(ahead);
            }
            let g = self.groups.find_or_insert(hash, keys.row(r).data());
            self.gids.push(g);
        }
        self.kept.resize_with(self.groups.len(), Vec::new);
        // No PRESORT: every row ranks equal until the tie breakers.
        let presort = if self.presort.0.is_empty() {
            None
        } else {
            Some(self.presort.1.convert_columns(&columns(&self.presort.0))?)
        };
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        match &presort {
            None => candidates.extend(0..rows as u32),
            Some(p) => {
                for (r, &g) in self.gids.iter().enumerate() {
                    if let Some(&ahead) = self.gids.get(r + AHEAD) {
                        self.groups.prefetch_worst(ahead);
                    }
                    if prefix(p.row(r).data()) <= self.groups.worst(g) {
                        candidates.push(r as u32);
                    }
                }
            }
        }
        let mut full: Option<Rows> = None;
        let b = self.batches.len() as u32;
        let mut used = false;
        for (i, &r) in candidates.iter().enumerate() {
            // A group's kept rows are two loads away (the list, then its
            // rows): ask for the list 8 candidates ahead, its rows 4 ahead.
            if let Some(&ahead) = candidates.get(i + 8) {
                prefetch(
                    self.kept
                        .as_ptr()
                        .wrapping_add(self.gids[ahead as usize] as usize),
                );
            }
            if let Some(&ahead) = candidates.get(i + 4) {
                prefetch(self.kept[self.gids[ahead as usize] as usize].as_ptr());
            }
            let r = r as usize;
            let g = self.gids[r] as usize;
            let p = presort.as_ref().map_or(&[][..], |rows| rows.row(r).data());
            let p_prefix = prefix(p);
            if p_prefix > self.groups.worst(g as u32) {
                continue;
            }
            let kept = &self.kept[g];
            let full_group = kept.len() == self.n;
            if full_group {
                // A kept rank starts with its PRESORT bytes, and the row
                // format is prefix-free: comparing p with as many bytes of
                // the worst kept rank compares the PRESORT columns.
                let worst = &kept[self.n - 1];
                let order = match p_prefix.cmp(&worst.prefix) {
                    // Exact when p has 8 bytes or more (see `prefix`).
                    o @ (Ordering::Less | Ordering::Greater) if p.len() >= 8 => o,
                    _ => p.cmp(&worst.rank[..p.len().min(worst.rank.len())]),
                };
                match order {
                    Ordering::Greater => continue,
                    Ordering::Equal if self.full.is_none() => continue,
                    _ => {}
                }
            }
            let rank: &[u8] = match &self.full {
                None => p,
                Some((idx, conv)) => {
                    if full.is_none() {
                        full = Some(conv.convert_columns(&columns(idx))?);
                    }
                    full.as_ref().expect("just set").row(r).data()
                }
            };
            let rank_prefix = prefix(rank);
            let kept = &mut self.kept[g];
            if full_group && !before(rank_prefix, rank, &kept[self.n - 1]) {
                continue;
            }
            let at = kept.partition_point(|k| !before(rank_prefix, rank, k));
            if full_group {
                kept.pop();
            } else {
                if kept.capacity() == 0 {
                    kept.reserve_exact(self.n.min(8));
                }
                self.kept_rows += 1;
            }
            kept.insert(
                at,
                Kept {
                    prefix: rank_prefix,
                    rank: SmallVec::from_slice(rank),
                    batch: b,
                    row: r as u32,
                },
            );
            if kept.len() == self.n {
                let worst = kept[self.n - 1].prefix;
                self.groups.set_worst(g, worst);
            }
            used = true;
        }
        self.candidates = candidates;
        if used {
            self.batch_rows += batch.num_rows();
            self.batch_bytes += batch.get_array_memory_size();
            self.batches.push(batch);
            if self.batch_rows > 2 * self.kept_rows + self.slack {
                self.compact()?;
            }
            self.reservation.try_resize(self.batch_bytes)?;
        }
        Ok(())
    }

    /// Copies the kept rows into one batch and lets go of the rest.
    fn compact(&mut self) -> Result<()> {
        let indices: Vec<(usize, usize)> = self
            .kept
            .iter()
            .flatten()
            .map(|k| (k.batch as usize, k.row as usize))
            .collect();
        let batch = self.take(&indices)?;
        for (i, k) in self.kept.iter_mut().flatten().enumerate() {
            k.batch = 0;
            k.row = i as u32;
        }
        self.batch_rows = batch.num_rows();
        self.batch_bytes = batch.get_array_memory_size();
        self.batches = vec![batch];
        Ok(())
    }

    fn take(&self, indices: &[(usize, usize)]) -> Result<RecordBatch> {
        if self.batches.is_empty() {
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        Ok(interleave_record_batch(&refs, indices)?)
    }

    /// The kept rows, by group key then rank, in batches of `batch_size`.
    pub(crate) fn finish(self, batch_size: usize) -> Result<Vec<RecordBatch>> {
        let mut order: Vec<(&[u8], usize)> = (0..self.groups.len())
            .map(|g| (self.groups.key(g), g))
            .collect();
        order.sort_unstable();
        let indices: Vec<(usize, usize)> = order
            .iter()
            .flat_map(|&(_, g)| &self.kept[g])
            .map(|k| (k.batch as usize, k.row as usize))
            .collect();
        let out = indices
            .chunks(batch_size.max(1))
            .map(|chunk| self.take(chunk))
            .collect::<Result<Vec<_>>>()?;
        self.reservation.free();
        Ok(out)
    }
}

/// Whether a row of rank `rank` (with `prefix(rank)` = `rank_prefix`) comes
/// strictly before the kept row `k`. Prefixes that differ order the ranks.
fn before(rank_prefix: u64, rank: &[u8], k: &Kept) -> bool {
    match rank_prefix.cmp(&k.prefix) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => rank < k.rank.as_ref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topn::OrderKey;
    use crate::topn::exec::Phase;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::execution::memory_pool::MemoryConsumer;
    use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryPool};

    /// (key, value, label, id) rows: keys with NULLs, values with NULLs
    /// and many ties, ids unique.
    fn rows(n: usize, seed: u64) -> Vec<(Option<i64>, Option<i64>, String, i64)> {
        let mut x = seed;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as i64
        };
        (0..n as i64)
            .map(|id| {
                let k = next() % 50;
                let v = next() % 20;
                let label = format!("l{}", next() % 7);
                ((k != 0).then_some(k), (v != 0).then_some(v), label, id)
            })
            .collect()
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Int64, true),
            Field::new("label", DataType::Utf8, false),
            Field::new("id", DataType::Int64, false),
        ]))
    }

    fn batch(rows: &[(Option<i64>, Option<i64>, String, i64)]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.1))),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r.2.clone()),
                )),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.3))),
            ],
        )
        .unwrap()
    }

    fn spec(n: usize, descending: bool, nulls_first: bool) -> TopNSpec {
        let key = |c: &str, descending, nulls_first| OrderKey {
            column: c.into(),
            descending,
            nulls_first,
        };
        TopNSpec {
            n,
            keys: vec!["k".into()],
            order: vec![
                key("v", descending, nulls_first),
                key("label", false, true),
                key("id", false, true),
            ],
            presort: 1,
        }
    }

    fn reservation() -> MemoryReservation {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(usize::MAX));
        MemoryConsumer::new("test").register(&pool)
    }

    /// Kept ids per run of the accumulator, fed in batches of `chunk`.
    fn top_ids(
        spec: &TopNSpec,
        data: &[(Option<i64>, Option<i64>, String, i64)],
        chunk: usize,
        slack: usize,
    ) -> Vec<i64> {
        let mut acc = Accumulator::try_new(spec, &schema(), reservation()).unwrap();
        acc.slack = slack;
        for part in data.chunks(chunk) {
            acc.push(batch(part)).unwrap();
        }
        let out = acc.finish(100).unwrap();
        assert!(out.iter().all(|b| b.num_rows() <= 100));
        out.iter()
            .flat_map(|b| {
                let ids = b.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
                ids.values().to_vec()
            })
            .collect()
    }

    /// The same by sorting everything: by key (NULL first), then the order.
    fn expected(
        n: usize,
        descending: bool,
        nulls_first: bool,
        data: &[(Option<i64>, Option<i64>, String, i64)],
    ) -> Vec<i64> {
        let mut sorted = data.to_vec();
        let value = |v: Option<i64>| match v {
            None if nulls_first => (0, 0),
            None => (2, 0),
            Some(v) => (1, if descending { -v } else { v }),
        };
        sorted.sort_by(|a, b| (a.0, value(a.1), &a.2, a.3).cmp(&(b.0, value(b.1), &b.2, b.3)));
        let mut out = Vec::new();
        let mut taken = 0;
        for (i, r) in sorted.iter().enumerate() {
            taken = if i > 0 && sorted[i - 1].0 == r.0 {
                taken + 1
            } else {
                0
            };
            if taken < n {
                out.push(r.3);
            }
        }
        out
    }

    #[test]
    fn keeps_the_same_rows_as_a_full_sort() {
        let data = rows(5000, 42);
        for (n, descending, nulls_first) in [
            (1, false, false),
            (3, true, false),
            (2, true, true),
            (7, false, true),
            (500, true, false),
        ] {
            let spec = spec(n, descending, nulls_first);
            let want = expected(n, descending, nulls_first, &data);
            // Small batches with tiny slack compact over and over.
            for (chunk, slack) in [(5000, SLACK_ROWS), (64, 10), (1, 0)] {
                assert_eq!(
                    top_ids(&spec, &data, chunk, slack),
                    want,
                    "n={n} desc={descending} nulls_first={nulls_first} chunk={chunk}"
                );
            }
        }
    }

    #[test]
    fn without_presort_ranks_by_the_other_columns() {
        let data = rows(1000, 7);
        let mut s = spec(2, false, true);
        s.order.remove(0);
        s.presort = 0;
        let mut sorted = data.clone();
        sorted.sort_by(|a, b| (a.0, &a.2, a.3).cmp(&(b.0, &b.2, b.3)));
        let mut want = Vec::new();
        for (i, r) in sorted.iter().enumerate() {
            if i < 2 || sorted[i - 2].0 != r.0 {
                want.push(r.3);
            }
        }
        assert_eq!(top_ids(&s, &data, 33, 0), want);
    }

    #[test]
    fn memory_stays_with_the_kept_rows() {
        // 50 groups x 3 rows kept of 100,000: the batches held are compacted.
        let data = rows(100_000, 3);
        let mut acc =
            Accumulator::try_new(&spec(3, true, false), &schema(), reservation()).unwrap();
        acc.slack = 1000;
        for part in data.chunks(1000) {
            acc.push(batch(part)).unwrap();
        }
        assert!(
            acc.batch_rows <= 2 * acc.kept_rows + 1000 + 1000,
            "{} rows held",
            acc.batch_rows
        );
    }

    #[test]
    fn a_memory_limit_is_an_error_not_an_abort() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1024));
        let mut acc = Accumulator::try_new(
            &spec(3, true, false),
            &schema(),
            MemoryConsumer::new("t").register(&pool),
        )
        .unwrap();
        let err = acc.push(batch(&rows(10_000, 1))).unwrap_err();
        assert!(err.to_string().contains("Resources exhausted"), "{err}");
    }

    #[test]
    fn spec_round_trips_with_its_phase() {
        let s = spec(2, true, false);
        let mut buf = Vec::new();
        s.encode(Phase::Partial, &mut buf).unwrap();
        let (back, phase) = TopNSpec::decode(&buf).unwrap().unwrap();
        assert_eq!((back, phase), (s, Phase::Partial));
        assert!(TopNSpec::decode(b"FSQLXFRM\0{}").is_none());
        assert!(TopNSpec::decode(&buf[..12]).unwrap().is_err());
    }
}
