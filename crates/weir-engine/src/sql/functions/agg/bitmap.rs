//! Spark's bitmap aggregates over fixed 4096-byte bitmaps (32768 bits, bit `p` is bit
//! `p % 8` of byte `p / 8`):
//!
//! - `bitmap_construct_agg(position)`: the bitmap with the bit of every non-null position
//!   set (a position outside 0..32768 is an error), all zero for no rows.
//! - `bitmap_or_agg(bitmap)`: the OR of the bitmaps (a shorter one is zero-extended), all
//!   zero for no rows.
//! - `bitmap_and_agg(bitmap)`: the AND of the bitmaps (a shorter one is zero-extended), all
//!   ones for no rows.
//!
//! NULL inputs are skipped. The result is a BINARY of 4096 bytes.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

/// Bytes of a bitmap.
const NUM_BYTES: usize = 4096;
/// Bits of a bitmap.
const NUM_BITS: i64 = (NUM_BYTES * 8) as i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Construct,
    Or,
    And,
}

/// One of the bitmap aggregates.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BitmapAgg {
    kind: Kind,
    signature: Signature,
}

/// `bitmap_construct_agg`, `bitmap_or_agg`, `bitmap_and_agg`.
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    [Kind::Construct, Kind::Or, Kind::And]
        .into_iter()
        .map(|kind| {
            Arc::new(AggregateUDF::from(BitmapAgg { kind, signature: Signature::user_defined(Volatility::Immutable) }))
        })
        .collect()
}

impl AggregateUDFImpl for BitmapAgg {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Construct => "bitmap_construct_agg",
            Kind::Or => "bitmap_or_agg",
            Kind::And => "bitmap_and_agg",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match (self.kind, arg_types) {
            (Kind::Construct, [t]) if t.is_integer() || t.is_null() => Ok(vec![DataType::Int64]),
            (
                Kind::Or | Kind::And,
                [DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null],
            ) => Ok(vec![DataType::Binary]),
            _ => plan_err!("function {} is not supported yet: arguments {arg_types:?}", self.name()),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "bitmap"), DataType::Binary, true))])
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let fill = if self.kind == Kind::And { 0xFF } else { 0 };
        Ok(Box::new(BitmapAccumulator { kind: self.kind, bitmap: vec![fill; NUM_BYTES] }))
    }
}

#[derive(Debug)]
struct BitmapAccumulator {
    kind: Kind,
    bitmap: Vec<u8>,
}

impl BitmapAccumulator {
    /// ORs (`and` false) or ANDs every non-null bitmap of `bitmaps` into the state.
    fn merge_bitmaps(&mut self, bitmaps: &ArrayRef, and: bool) -> Result<()> {
        let Some(bitmaps) = bitmaps.as_binary_opt::<i32>() else {
            return exec_err!("bitmap aggregate: expected a BINARY input, got {}", bitmaps.data_type());
        };
        for bytes in bitmaps.iter().flatten() {
            let n = bytes.len().min(NUM_BYTES);
            if and {
                self.bitmap[..n].iter_mut().zip(bytes).for_each(|(b, x)| *b &= x);
                self.bitmap[n..].iter_mut().for_each(|b| *b = 0);
            } else {
                self.bitmap[..n].iter_mut().zip(bytes).for_each(|(b, x)| *b |= x);
            }
        }
        Ok(())
    }
}

/// Sets the bit of `position` in `bitmap`.
fn set_bit(bitmap: &mut [u8], position: i64) -> Result<()> {
    if !(0..NUM_BITS).contains(&position) {
        return exec_err!(
            "[INVALID_BITMAP_POSITION] The 0-indexed bitmap position {position} is out of bounds. The bitmap has {NUM_BITS} bits ({NUM_BYTES} bytes)."
        );
    }
    let position = position as usize;
    bitmap[position / 8] |= 1 << (position % 8);
    Ok(())
}

impl Accumulator for BitmapAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match self.kind {
            Kind::Construct => {
                let Some(positions) = values[0].as_primitive_opt::<Int64Type>() else {
                    return exec_err!("bitmap_construct_agg: expected a BIGINT input, got {}", values[0].data_type());
                };
                for position in positions.iter().flatten() {
                    set_bit(&mut self.bitmap, position)?;
                }
                Ok(())
            }
            Kind::Or => self.merge_bitmaps(&values[0], false),
            Kind::And => self.merge_bitmaps(&values[0], true),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.merge_bitmaps(&states[0], self.kind == Kind::And)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(self.bitmap.clone()))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Binary(Some(self.bitmap.clone())))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.bitmap.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{BinaryArray, Int64Array};

    #[test]
    fn construct_sets_low_bits_first() {
        let mut acc = BitmapAccumulator { kind: Kind::Construct, bitmap: vec![0; NUM_BYTES] };
        let positions: ArrayRef = Arc::new(Int64Array::from(vec![Some(0), None, Some(1), Some(2), Some(9)]));
        acc.update_batch(&[positions]).expect("update");
        assert_eq!(&acc.bitmap[..3], &[0x07, 0x02, 0x00]);
        let bad: ArrayRef = Arc::new(Int64Array::from(vec![NUM_BITS]));
        assert!(acc.update_batch(&[bad]).is_err());
    }

    #[test]
    fn and_zero_extends_short_bitmaps() {
        let mut acc = BitmapAccumulator { kind: Kind::And, bitmap: vec![0xFF; NUM_BYTES] };
        let bitmaps: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&[0xF0u8][..]), None, Some(&[0x70u8, 0xFF][..])]));
        acc.update_batch(&[bitmaps]).expect("update");
        assert_eq!(&acc.bitmap[..3], &[0x70, 0x00, 0x00]);
    }
}
