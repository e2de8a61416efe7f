//! Position accounting of one instrument (average cost, realized P&L net of fees) and the
//! worst-case exposure the gate limits. Pure functions over values: the gate computes the next
//! state first and commits it only when every step succeeded, so a failed event changes nothing.

use crate::types::{
    parse_decimal_scaled_i128, InstrumentSpec, Money, Price, Quantity, Side, ValueError,
    MONEY_SCALE,
};

/// Position of one instrument with its average-cost accounting, in lots and money units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PositionState {
    /// Signed lots: positive long, negative short.
    pub position: Quantity,
    /// Money paid for the open position (negative for a short: money received). The average
    /// entry price is `cost_basis / (position * notional per tick-lot)` ticks.
    pub cost_basis: Money,
    /// Realized P&L, net of fees, since the gate was created.
    pub realized_pnl: Money,
    /// Fees paid (negative: rebates received) since the gate was created.
    pub fees: Money,
}

/// Money value of `quantity` lots at `price` ticks, or `None` if it does not fit.
pub fn money_value(price: Price, quantity: i128, notional_per_tick_lot: Money) -> Option<Money> {
    quantity
        .checked_mul(i128::from(price))?
        .checked_mul(notional_per_tick_lot)
}

/// Cost basis of `quantity` signed lots entered at `average_price`, decimal text in the quote
/// currency per unit of the instrument. Exact: the price may carry at most
/// `MONEY_SCALE - size precision` decimals.
pub fn cost_basis_at(
    spec: &InstrumentSpec,
    quantity: Quantity,
    average_price: &str,
) -> Result<Money, ValueError> {
    let price = parse_decimal_scaled_i128(average_price, MONEY_SCALE - spec.lot.precision)?;
    if price <= 0 {
        return Err(ValueError::NonPositivePrice(average_price.to_string()));
    }
    i128::from(quantity)
        .checked_mul(i128::from(spec.lot.units))
        .and_then(|units| units.checked_mul(price))
        .ok_or_else(|| ValueError::Overflow(average_price.to_string()))
}

impl PositionState {
    /// The state after a fill of `quantity` lots on `side` at `price` ticks paying `fee`, or
    /// `None` if a value would leave the representable range.
    ///
    /// Increasing fills add their value to the cost basis. A reducing fill realizes the
    /// difference between its value and the closed share of the cost basis; that share is
    /// `cost_basis * closed / |position|` truncated toward zero in money units (10^-12), and the
    /// sub-unit remainder stays in the basis, so realized + unrealized is always exact and a
    /// flat position has realized every cent. A fill larger than the position flips it: the
    /// excess opens the new position at the fill price.
    pub fn after_fill(
        &self,
        side: Side,
        price: Price,
        quantity: Quantity,
        fee: Money,
        notional_per_tick_lot: Money,
    ) -> Option<PositionState> {
        let signed_fill = i128::from(side.sign()) * i128::from(quantity);
        let position = i128::from(self.position);
        let mut cost_basis = self.cost_basis;
        let mut realized_pnl = self.realized_pnl;
        if position == 0 || position.signum() == signed_fill.signum() {
            cost_basis =
                cost_basis.checked_add(money_value(price, signed_fill, notional_per_tick_lot)?)?;
        } else {
            let closed = signed_fill.abs().min(position.abs());
            let released_basis = if closed == position.abs() {
                cost_basis
            } else {
                cost_basis.checked_mul(closed)? / position.abs()
            };
            let closed_value = money_value(price, closed, notional_per_tick_lot)?;
            let realized = closed_value
                .checked_mul(position.signum())?
                .checked_sub(released_basis)?;
            realized_pnl = realized_pnl.checked_add(realized)?;
            cost_basis -= released_basis;
            let opened = signed_fill.abs() - closed;
            if opened > 0 {
                cost_basis =
                    money_value(price, opened * signed_fill.signum(), notional_per_tick_lot)?;
            }
        }
        Some(PositionState {
            position: Quantity::try_from(position + signed_fill).ok()?,
            cost_basis,
            realized_pnl: realized_pnl.checked_sub(fee)?,
            fees: self.fees.checked_add(fee)?,
        })
    }

    /// Unrealized P&L at `mark` (zero without a mark: the position is carried at cost).
    pub fn unrealized_pnl(
        &self,
        mark: Option<Price>,
        notional_per_tick_lot: Money,
    ) -> Option<Money> {
        match mark {
            None => Some(0),
            Some(mark) => money_value(mark, i128::from(self.position), notional_per_tick_lot)?
                .checked_sub(self.cost_basis),
        }
    }
}

/// Worst-case exposure of one instrument at its reference price, in money units: as if every
/// open buy filled (`net_if_buys_fill`) or every open sell filled (`net_if_sells_fill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exposure {
    /// The larger absolute value of the two cases.
    pub gross: Money,
    pub net_if_buys_fill: Money,
    pub net_if_sells_fill: Money,
}

impl Exposure {
    /// Exposure of a position whose worst cases are `long_case` lots (position + open buys)
    /// and `short_case` lots (position - open sells). Without a reference price it is zero.
    pub fn at(
        long_case: i128,
        short_case: i128,
        reference: Option<Price>,
        notional_per_tick_lot: Money,
    ) -> Option<Exposure> {
        let Some(reference) = reference else {
            return Some(Exposure::default());
        };
        let net_if_buys_fill = money_value(reference, long_case, notional_per_tick_lot)?;
        let net_if_sells_fill = money_value(reference, short_case, notional_per_tick_lot)?;
        Some(Exposure {
            gross: net_if_buys_fill
                .checked_abs()?
                .max(net_if_sells_fill.checked_abs()?),
            net_if_buys_fill,
            net_if_sells_fill,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One tick-lot is worth one money unit in these tests.
    const UNIT: Money = 1;

    fn fill(state: PositionState, side: Side, price: Price, quantity: Quantity) -> PositionState {
        state
            .after_fill(side, price, quantity, 0, UNIT)
            .expect("fits")
    }

    #[test]
    fn buying_then_selling_realizes_the_price_difference() {
        let long = fill(PositionState::default(), Side::Buy, 100, 10);
        assert_eq!(long.position, 10);
        assert_eq!(long.cost_basis, 1_000);
        let half = fill(long, Side::Sell, 110, 5);
        assert_eq!(half.position, 5);
        assert_eq!(half.realized_pnl, 50);
        assert_eq!(half.cost_basis, 500);
        assert_eq!(half.unrealized_pnl(Some(90), UNIT), Some(-50));
        let flat = fill(half, Side::Sell, 120, 5);
        assert_eq!(flat.position, 0);
        assert_eq!(flat.cost_basis, 0);
        assert_eq!(flat.realized_pnl, 150);
    }

    #[test]
    fn averaging_in_and_partial_closes_keep_total_pnl_exact() {
        // Average cost 101/3 ticks cannot be represented exactly; the remainder stays in the
        // basis until the position is flat.
        let mut state = fill(PositionState::default(), Side::Buy, 33, 1);
        state = fill(state, Side::Buy, 34, 2);
        assert_eq!(state.cost_basis, 101);
        state = fill(state, Side::Sell, 40, 1);
        assert_eq!(state.realized_pnl, 40 - 33); // 101 * 1 / 3 truncates to 33
        assert_eq!(state.cost_basis, 68);
        state = fill(state, Side::Sell, 40, 2);
        assert_eq!(state.realized_pnl, 3 * 40 - 101);
        assert_eq!(state.cost_basis, 0);
    }

    #[test]
    fn shorts_realize_the_opposite_way_and_fills_can_flip_the_position() {
        let short = fill(PositionState::default(), Side::Sell, 100, 4);
        assert_eq!(short.position, -4);
        assert_eq!(short.cost_basis, -400);
        assert_eq!(short.unrealized_pnl(Some(90), UNIT), Some(40));
        let flipped = fill(short, Side::Buy, 90, 6);
        assert_eq!(flipped.position, 2);
        assert_eq!(flipped.realized_pnl, 40);
        assert_eq!(flipped.cost_basis, 180);
    }

    #[test]
    fn fees_reduce_realized_pnl_and_rebates_raise_it() {
        let state = PositionState::default()
            .after_fill(Side::Buy, 100, 1, 7, UNIT)
            .and_then(|s| s.after_fill(Side::Sell, 100, 1, -2, UNIT))
            .expect("fits");
        assert_eq!(state.realized_pnl, -5);
        assert_eq!(state.fees, 5);
    }

    #[test]
    fn overflowing_fills_are_refused() {
        let state = PositionState {
            position: i64::MAX,
            ..Default::default()
        };
        assert_eq!(state.after_fill(Side::Buy, 1, 1, 0, UNIT), None);
        assert_eq!(
            PositionState::default().after_fill(Side::Buy, i64::MAX, i64::MAX, 0, Money::MAX),
            None
        );
    }

    #[test]
    fn cost_basis_at_an_average_price_is_exact() {
        let spec = InstrumentSpec::simple("0.5", 1, "0.001", 3);
        // 2.5 units (2500 lots) at 100.123456789 = 250.3086419725.
        assert_eq!(
            cost_basis_at(&spec, 2_500, "100.123456789"),
            Ok(250_308_641_972_500)
        );
        assert_eq!(cost_basis_at(&spec, -1_000, "3"), Ok(-3_000_000_000_000));
        assert!(matches!(
            cost_basis_at(&spec, 1, "0.0000000001"),
            Err(ValueError::OffGrid { .. })
        ));
        assert!(matches!(
            cost_basis_at(&spec, 1, "-2"),
            Err(ValueError::NonPositivePrice(_))
        ));
    }

    #[test]
    fn exposure_takes_the_worse_of_all_buys_or_all_sells_filling() {
        // Long 5, 3 open buys, 9 open sells, reference 10 ticks.
        let exposure = Exposure::at(5 + 3, 5 - 9, Some(10), UNIT).expect("fits");
        assert_eq!(exposure.net_if_buys_fill, 80);
        assert_eq!(exposure.net_if_sells_fill, -40);
        assert_eq!(exposure.gross, 80);
        assert_eq!(Exposure::at(5, 5, None, UNIT), Some(Exposure::default()));
    }
}
