//! Published worked examples of graduated, volume and package pricing (flat fees, sub-cent rates),
//! and the seeds' own invoice numbers, priced by the core to the cent. Rates are in cents.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::MinorUnits;
use super::tier::{PackageRounding, PriceModel, Tier, TiersMode};

fn tiers(mode: TiersMode, t: &[(Option<u64>, &str, i64)]) -> PriceModel {
    PriceModel::Tiered {
        mode,
        tiers: t
            .iter()
            .map(|(up_to, unit, flat)| Tier {
                up_to: *up_to,
                unit_amount: Decimal::from_str(unit).unwrap_or_default(),
                flat_amount: MinorUnits(*flat),
            })
            .collect(),
    }
}

fn total(price: &PriceModel, quantity: u64) -> i64 {
    price.price(quantity).map_or(-1, |p| p.total.0)
}

#[test]
fn graduated_1000_at_10_cents_9000_at_5_and_the_rest_at_1_is_600_dollars_for_15000() {
    let t = [
        (Some(1_000), "10", 0),
        (Some(10_000), "5", 0),
        (None, "1", 0),
    ];
    assert_eq!(total(&tiers(TiersMode::Graduated, &t), 15_000), 60_000);
    // the same tiers by volume: every unit at the 1¢ tier
    assert_eq!(total(&tiers(TiersMode::Volume, &t), 15_000), 15_000);
}

#[test]
fn graduated_sub_cent_tiers_price_15000_requests_at_107_dollars() {
    // 1,000 × $0.01 + 9,000 × $0.008 + 5,000 × $0.005
    let t = [
        (Some(1_000), "1", 0),
        (Some(10_000), "0.8", 0),
        (None, "0.5", 0),
    ];
    assert_eq!(total(&tiers(TiersMode::Graduated, &t), 15_000), 10_700);
}

#[test]
fn volume_with_a_flat_fee_prices_65000_calls_at_49_dollars() {
    // 65,000 × $0.0006 + $10 (the flat fee of the tier the total falls in, once)
    let t = [
        (Some(10_000), "0.1", 1_000),
        (Some(50_000), "0.08", 1_000),
        (Some(100_000), "0.06", 1_000),
        (None, "0.04", 1_000),
    ];
    assert_eq!(total(&tiers(TiersMode::Volume, &t), 65_000), 4_900);
}

#[test]
fn graduated_flat_fees_are_charged_once_per_tier_reached() {
    // Stripe's example shape: first 5 units $5 each + $2 flat; then $4 each + $1 flat
    let t = [(Some(5), "500", 200), (None, "400", 100)];
    let price = tiers(TiersMode::Graduated, &t);
    assert_eq!(total(&price, 5), 2_700);
    assert_eq!(total(&price, 6), 2_700 + 400 + 100);
}

#[test]
fn seed_003_api_calls_are_10_cents_per_started_thousand() {
    let p = PriceModel::Package {
        size: 1_000,
        amount: MinorUnits(10),
        rounding: PackageRounding::Up,
    };
    assert_eq!(total(&p, 2_500), 30);
}
