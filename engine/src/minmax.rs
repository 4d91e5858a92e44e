//! `MIN` and `MAX` over floats order NaN above every number, grouped or not.
//!
//! DataFusion 55's grouped MIN/MAX of a float column replace the running
//! value whenever a comparison with NaN is undefined, so a NaN in a group
//! made the result depend on row order: `min` of `-8.5, NaN, 4.25, 1.75`
//! came back 1.75 (found by the differential fuzzer against DuckDB). Its
//! ungrouped MAX returns NaN, its sort puts NaN last, and DuckDB does both:
//! NaN is the greatest value. [`FloatMinMax`] wraps DataFusion's `min` and
//! `max` (same name, signature and everything else) with a grouped
//! accumulator for floats that follows that order.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, FieldRef, Float32Type, Float64Type,
};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, GroupsAccumulator, ReversedUDAF,
    SetMonotonicity, Signature, StatisticsArgs,
};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::prim_op::PrimitiveGroupsAccumulator;

/// fsql's `min` and `max`.
pub(crate) fn functions() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::new_from_impl(FloatMinMax {
            max: false,
            inner: datafusion::functions_aggregate::min_max::min_udaf(),
        }),
        AggregateUDF::new_from_impl(FloatMinMax {
            max: true,
            inner: datafusion::functions_aggregate::min_max::max_udaf(),
        }),
    ]
}

#[derive(Debug)]
pub(crate) struct FloatMinMax {
    max: bool,
    inner: Arc<AggregateUDF>,
}

impl PartialEq for FloatMinMax {
    fn eq(&self, other: &Self) -> bool {
        self.max == other.max
    }
}

impl Eq for FloatMinMax {}

impl Hash for FloatMinMax {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
    }
}

/// The float types whose statistics fsql never takes as an answer (the
/// grouped accumulator is fsql's for Float32 and Float64; half floats keep
/// DataFusion's).
fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

/// The float natives, with what the steps need.
trait Float: Copy + PartialOrd + Send + 'static {
    const NAN: Self;
    const NEG_INFINITY: Self;
    fn is_nan(self) -> bool;
}

impl Float for f64 {
    const NAN: Self = f64::NAN;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

impl Float for f32 {
    const NAN: Self = f32::NAN;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

/// NaN-aware steps: NaN is greater than every number (and equal to NaN).
fn max_step<N: Float>(cur: &mut N, new: N) {
    if cur.is_nan() {
        return;
    }
    if new.is_nan() || new > *cur {
        *cur = new;
    }
}

fn min_step<N: Float>(cur: &mut N, new: N) {
    if new.is_nan() {
        return;
    }
    if cur.is_nan() || new < *cur {
        *cur = new;
    }
}

fn grouped<T>(data_type: &DataType, max: bool) -> Box<dyn GroupsAccumulator>
where
    T: ArrowPrimitiveType + Send,
    T::Native: Float,
{
    if max {
        // Starts below every value: the first value replaces it.
        Box::new(
            PrimitiveGroupsAccumulator::<T, _>::new(data_type, max_step::<T::Native>)
                .with_starting_value(T::Native::NEG_INFINITY),
        )
    } else {
        // Starts at the greatest value (NaN): every value but NaN replaces it.
        Box::new(
            PrimitiveGroupsAccumulator::<T, _>::new(data_type, min_step::<T::Native>)
                .with_starting_value(T::Native::NAN),
        )
    }
}

impl AggregateUDFImpl for FloatMinMax {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.accumulator(acc_args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let data_type = args.return_field.data_type().clone();
        Ok(match data_type {
            DataType::Float64 => grouped::<Float64Type>(&data_type, self.max),
            DataType::Float32 => grouped::<Float32Type>(&data_type, self.max),
            _ => return self.inner.create_groups_accumulator(args),
        })
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.create_sliding_accumulator(args)
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.inner().order_sensitivity()
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        self.inner.reverse_udf()
    }

    fn simplify(
        &self,
    ) -> Option<datafusion::logical_expr::function::AggregateFunctionSimplification> {
        self.inner.simplify()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner.is_descending()
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        // Float statistics leave NaN out: never an answer for floats.
        if is_float(statistics_args.return_type) {
            return None;
        }
        self.inner.value_from_stats(statistics_args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.inner().set_monotonicity(data_type)
    }
}
