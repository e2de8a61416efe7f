//! The outcome of a risk check: [`RiskDecision`] (approve, or reject with a [`RejectReason`]) and
//! the account's [`TradingState`].

/// Why the gate refused an order or a cancel. The discriminant is the stable wire code (0 is
/// reserved for an approval, see [`RiskDecision::code`]); codes follow the order in which the
/// checks run, so the first failing check decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RejectReason {
    /// The price or quantity is not on the instrument's tick or lot grid (decimal entry only).
    OffGrid = 1,
    /// The kill switch is engaged: only cancels pass.
    KillSwitch = 2,
    /// The daily loss circuit breaker has tripped.
    DailyLossLimit = 3,
    /// Trading is halted by the operator: only cancels pass.
    TradingHalted = 4,
    /// Trading is reduce-only and the order would not reduce the position.
    ReduceOnly = 5,
    /// The quantity is outside the instrument's tradable minimum and maximum.
    QuantityOutOfRange = 6,
    /// The notional is below the instrument's minimum notional.
    BelowMinNotional = 7,
    /// The quantity exceeds the maximum order quantity.
    MaxOrderQuantity = 8,
    /// The notional exceeds the maximum order notional.
    MaxOrderNotional = 9,
    /// The instrument has no reference price yet, so collar and exposure cannot be checked.
    NoReferencePrice = 10,
    /// The price is outside the collar around the reference price.
    PriceCollar = 11,
    /// Position plus open buys plus the order would exceed the maximum long position.
    MaxLongPosition = 12,
    /// Position minus open sells minus the order would exceed the maximum short position.
    MaxShortPosition = 13,
    /// The order would raise gross exposure above its maximum.
    MaxGrossExposure = 14,
    /// The order would raise net exposure above its maximum.
    MaxNetExposure = 15,
    /// The account already has the maximum number of open orders.
    MaxOpenOrders = 16,
    /// The order-rate throttle has no token left.
    OrderRate = 17,
    /// The cancel-rate throttle has no token left.
    CancelRate = 18,
}

impl RejectReason {
    /// Every reason, in check order.
    pub const ALL: [RejectReason; 18] = [
        RejectReason::OffGrid,
        RejectReason::KillSwitch,
        RejectReason::DailyLossLimit,
        RejectReason::TradingHalted,
        RejectReason::ReduceOnly,
        RejectReason::QuantityOutOfRange,
        RejectReason::BelowMinNotional,
        RejectReason::MaxOrderQuantity,
        RejectReason::MaxOrderNotional,
        RejectReason::NoReferencePrice,
        RejectReason::PriceCollar,
        RejectReason::MaxLongPosition,
        RejectReason::MaxShortPosition,
        RejectReason::MaxGrossExposure,
        RejectReason::MaxNetExposure,
        RejectReason::MaxOpenOrders,
        RejectReason::OrderRate,
        RejectReason::CancelRate,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// The machine-readable name, e.g. `"MAX_LONG_POSITION"`.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::OffGrid => "OFF_GRID",
            RejectReason::KillSwitch => "KILL_SWITCH",
            RejectReason::DailyLossLimit => "DAILY_LOSS_LIMIT",
            RejectReason::TradingHalted => "TRADING_HALTED",
            RejectReason::ReduceOnly => "REDUCE_ONLY",
            RejectReason::QuantityOutOfRange => "QUANTITY_OUT_OF_RANGE",
            RejectReason::BelowMinNotional => "BELOW_MIN_NOTIONAL",
            RejectReason::MaxOrderQuantity => "MAX_ORDER_QUANTITY",
            RejectReason::MaxOrderNotional => "MAX_ORDER_NOTIONAL",
            RejectReason::NoReferencePrice => "NO_REFERENCE_PRICE",
            RejectReason::PriceCollar => "PRICE_COLLAR",
            RejectReason::MaxLongPosition => "MAX_LONG_POSITION",
            RejectReason::MaxShortPosition => "MAX_SHORT_POSITION",
            RejectReason::MaxGrossExposure => "MAX_GROSS_EXPOSURE",
            RejectReason::MaxNetExposure => "MAX_NET_EXPOSURE",
            RejectReason::MaxOpenOrders => "MAX_OPEN_ORDERS",
            RejectReason::OrderRate => "ORDER_RATE",
            RejectReason::CancelRate => "CANCEL_RATE",
        }
    }

    /// A human sentence saying why the order was refused.
    pub fn description(self) -> &'static str {
        match self {
            RejectReason::OffGrid => "price or quantity is not on the instrument's grid",
            RejectReason::KillSwitch => "the kill switch is engaged; only cancels are accepted",
            RejectReason::DailyLossLimit => "the daily loss limit tripped the circuit breaker",
            RejectReason::TradingHalted => "trading is halted; only cancels are accepted",
            RejectReason::ReduceOnly => {
                "trading is reduce-only and the order would not reduce the position"
            }
            RejectReason::QuantityOutOfRange => {
                "quantity is outside the instrument's minimum and maximum order quantity"
            }
            RejectReason::BelowMinNotional => "notional is below the instrument's minimum notional",
            RejectReason::MaxOrderQuantity => "quantity exceeds the maximum order quantity",
            RejectReason::MaxOrderNotional => "notional exceeds the maximum order notional",
            RejectReason::NoReferencePrice => "the instrument has no reference price yet",
            RejectReason::PriceCollar => "price is outside the collar around the reference price",
            RejectReason::MaxLongPosition => {
                "position plus open buys would exceed the maximum long position"
            }
            RejectReason::MaxShortPosition => {
                "position minus open sells would exceed the maximum short position"
            }
            RejectReason::MaxGrossExposure => "gross exposure would exceed its maximum",
            RejectReason::MaxNetExposure => "net exposure would exceed its maximum",
            RejectReason::MaxOpenOrders => "the maximum number of open orders is reached",
            RejectReason::OrderRate => "the order rate limit is exhausted",
            RejectReason::CancelRate => "the cancel rate limit is exhausted",
        }
    }
}

/// The gate's answer to one order or cancel: one byte, `Copy`, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskDecision {
    Approved,
    Rejected(RejectReason),
}

impl RiskDecision {
    /// The wire code of an approval; rejections use their reason's code.
    pub const APPROVED_CODE: u8 = 0;

    pub fn code(self) -> u8 {
        match self {
            RiskDecision::Approved => Self::APPROVED_CODE,
            RiskDecision::Rejected(reason) => reason.code(),
        }
    }

    pub fn is_approved(self) -> bool {
        self == RiskDecision::Approved
    }

    pub fn reason(self) -> Option<RejectReason> {
        match self {
            RiskDecision::Approved => None,
            RiskDecision::Rejected(reason) => Some(reason),
        }
    }
}

/// What the account may do, from least to most restrictive (the derived order is used to
/// combine the operator's state with the circuit breaker's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TradingState {
    /// Every check applies as configured.
    Active = 0,
    /// Only orders that reduce the absolute position (counting open orders) pass.
    Reducing = 1,
    /// Only cancels pass.
    Halted = 2,
}

impl TradingState {
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(TradingState::Active),
            1 => Some(TradingState::Reducing),
            2 => Some(TradingState::Halted),
            _ => None,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            TradingState::Active => "ACTIVE",
            TradingState::Reducing => "REDUCING",
            TradingState::Halted => "HALTED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip_and_follow_check_order() {
        for (index, reason) in RejectReason::ALL.iter().enumerate() {
            assert_eq!(usize::from(reason.code()), index + 1);
            assert_eq!(RejectReason::from_code(reason.code()), Some(*reason));
        }
        assert_eq!(RejectReason::from_code(0), None);
        assert_eq!(RejectReason::from_code(19), None);
    }

    #[test]
    fn reason_names_are_unique_upper_snake_case() {
        let mut names: Vec<&str> = RejectReason::ALL.iter().map(|r| r.name()).collect();
        assert!(names
            .iter()
            .all(|name| name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RejectReason::ALL.len());
    }

    #[test]
    fn decision_codes_put_approval_at_zero() {
        assert_eq!(RiskDecision::Approved.code(), 0);
        assert!(RiskDecision::Approved.is_approved());
        let rejected = RiskDecision::Rejected(RejectReason::PriceCollar);
        assert_eq!(rejected.code(), 11);
        assert_eq!(rejected.reason(), Some(RejectReason::PriceCollar));
        assert!(!rejected.is_approved());
        assert_eq!(std::mem::size_of::<RiskDecision>(), 1);
    }

    #[test]
    fn trading_states_order_by_restrictiveness() {
        assert!(TradingState::Active < TradingState::Reducing);
        assert!(TradingState::Reducing < TradingState::Halted);
        for code in 0..3 {
            let state = TradingState::from_code(code).expect("valid code");
            assert_eq!(state.code(), code);
        }
        assert_eq!(TradingState::from_code(3), None);
    }
}
