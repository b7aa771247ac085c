//! The catalog refuses every mistake with one message naming the file, the field and the fix.

use billing_mcp::catalog::Catalog;

use crate::support::example_catalog;

fn error_of(toml: &str) -> String {
    match Catalog::parse(toml, "billing.toml") {
        Ok(_) => panic!("should have been refused:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

const METER: &str = "[meters.calls]\nevent_name = \"calls\"\n";

#[test]
fn the_example_catalog_expresses_the_seeds() {
    let c = example_catalog();
    for plan in [
        "free",
        "starter",
        "professional",
        "per_call",
        "metered",
        "credits",
        "forensics",
    ] {
        assert!(c.plans.contains_key(plan), "missing plan {plan}");
    }
    assert_eq!(c.credits.packs["small_pack"].total_credits(), 110);
    assert_eq!(c.credits.packs["large_pack"].total_credits(), 1200);
    assert_eq!(c.meters["tool_calls"].event_name, "tool_call_executed");
}

#[test]
fn an_unknown_field_is_named_with_the_accepted_ones() {
    let e = error_of(&format!("{METER}[plans.p]\nmonthy = 100\n"));
    assert!(e.starts_with("billing.toml: `plans.p.monthy`"), "{e}");
    assert!(e.contains("monthly") && e.contains("Fix:"), "{e}");
}

#[test]
fn tiers_out_of_order_are_refused() {
    let e = error_of(&format!(
        "{METER}[plans.p.meters.calls]\nprice = {{ tiers_mode = \"graduated\", tiers = [{{ up_to = 100, unit_amount = 5 }}, {{ up_to = 50, unit_amount = 4 }}, {{ unit_amount = 3 }}] }}\n"
    ));
    assert!(
        e.contains("plans.p.meters.calls.price.tiers") && e.contains("increasing"),
        "{e}"
    );
}

#[test]
fn a_negative_price_is_refused() {
    let e = error_of(&format!("{METER}[plans.p]\nmonthly = -100\n"));
    assert!(
        e.contains("plans.p.monthly") && e.contains("negative"),
        "{e}"
    );
    let e = error_of(&format!(
        "{METER}[plans.p.meters.calls]\nprice = {{ unit_amount_decimal = \"-0.5\" }}\n"
    ));
    assert!(e.contains("negative"), "{e}");
}

#[test]
fn a_reference_to_an_unknown_meter_is_refused() {
    let e = error_of(&format!("{METER}[features.f]\nmeter = \"cals\"\n"));
    assert!(
        e.contains("features.f.meter") && e.contains("unknown meter `cals`") && e.contains("calls"),
        "{e}"
    );
    let e = error_of(&format!("{METER}[plans.p.meters.tokens]\nincluded = 5\n"));
    assert!(e.contains("plans.p.meters.tokens"), "{e}");
}

#[test]
fn a_float_price_is_refused_rather_than_rounded() {
    let e = error_of(&format!(
        "{METER}[plans.p.meters.calls]\nprice = {{ unit_amount = 0.5 }}\n"
    ));
    assert!(e.contains("unit_amount_decimal"), "{e}");
}

#[test]
fn unknown_plans_and_behaviours_are_refused() {
    assert!(error_of("default_plan = \"gold\"\n").contains("default_plan"));
    assert!(error_of("[plans.p]\nupgrade_to = \"q\"\n").contains("plans.p.upgrade_to"));
    assert!(
        error_of("[plans.p]\nat_limit = \"explode\"\n")
            .contains("block, upgrade_prompt or charge_overage")
    );
    assert!(error_of("currency = \"doubloons\"\n").contains("ISO 4217"));
}

#[test]
fn a_plan_rate_limit_must_let_calls_through_and_be_whole() {
    let e = error_of("[plans.p]\nrate_limit = { per_minute = 0 }\n");
    assert!(
        e.contains("plans.p.rate_limit") && e.contains("Fix:"),
        "{e}"
    );
    assert!(
        error_of("[plans.p]\nrate_limit = { per_minute = 60, burst = 0 }\n").contains("rate_limit")
    );
    let e = error_of("[plans.p]\nrate_limit = { per_minute = 1.5 }\n");
    assert!(
        e.contains("floating point `1.5`"),
        "a float rate is refused: {e}"
    );
    let c = Catalog::parse(
        "[plans.p]\nrate_limit = { per_minute = 60 }\n",
        "billing.toml",
    )
    .unwrap();
    assert_eq!(
        c.plans["p"].rate_limit,
        Some(billing_mcp::access::Rate::new(60, 60)),
        "burst defaults to one minute's calls"
    );
}

#[test]
fn a_mistake_the_toml_reader_finds_names_its_field_and_line() {
    let cases = [
        (
            "[plans.starter]\nmonthly = 29.99\n",
            "plans.starter.monthly",
            "line 2",
        ),
        (
            "[plans.starter]\nmonthly = 2900\nmonthly = 3900\n",
            "plans.starter.monthly",
            "give the key once",
        ),
        (
            "[plans.starter]\nfeatures = \"tool_calls\"\n",
            "plans.starter.features",
            "line 2",
        ),
        (
            "[credits]\ndefault_cost = -100\n",
            "credits.default_cost",
            "line 2",
        ),
        ("[plans.p]\nmonthly = \n", "plans.p.monthly", "line 2"),
    ];
    for (toml, field, detail) in cases {
        let e = error_of(toml);
        assert!(
            e.starts_with(&format!("billing.toml: `{field}`")),
            "{toml}: {e}"
        );
        assert!(e.contains(detail) && e.contains("Fix:"), "{toml}: {e}");
        assert!(!e.contains("byte"), "a line, not a byte offset: {e}");
    }
}

#[test]
fn a_catalog_file_that_sells_nothing_is_refused() {
    for text in ["", "\u{feff}", "# just a comment\n", METER] {
        let e = error_of(text);
        assert!(
            e.contains("`plans`") && e.contains("no plans"),
            "{text:?}: {e}"
        );
    }
    assert!(
        Catalog::parse("\u{feff}[plans.p]\n", "billing.toml").is_ok(),
        "a BOM is no mistake"
    );
}

#[test]
fn a_price_beyond_stripes_limit_is_refused_with_its_field() {
    for (price, field) in [
        (
            "{ unit_amount = 100000000 }",
            "plans.p.meters.calls.price.unit_amount",
        ),
        (
            "{ unit_amount = 9223372036854775807 }",
            "plans.p.meters.calls.price.unit_amount",
        ),
        (
            "{ unit_amount_decimal = \"100000000\" }",
            "plans.p.meters.calls.price.unit_amount_decimal",
        ),
        (
            "{ unit_amount_decimal = \"0.0000000000001\" }",
            "plans.p.meters.calls.price.unit_amount_decimal",
        ),
        (
            "{ tiers_mode = \"volume\", tiers = [{ up_to = 10, unit_amount = 1, flat_amount = 100000000 }, { unit_amount = 1 }] }",
            "plans.p.meters.calls.price.tiers[0].flat_amount",
        ),
    ] {
        let e = error_of(&format!("{METER}[plans.p.meters.calls]\nprice = {price}\n"));
        assert!(e.contains(field), "{price}: {e}");
    }
    let e = error_of(&format!("{METER}[plans.p]\nmonthly = 100000000\n"));
    assert!(
        e.contains("plans.p.monthly") && e.contains("99999999"),
        "{e}"
    );
    let most = format!(
        "{METER}[plans.p]\nmonthly = 99999999\n[plans.p.meters.calls]\nprice = {{ unit_amount_decimal = \"99999999.000000000001\" }}\n"
    );
    assert!(
        Catalog::parse(&most, "billing.toml").is_err(),
        "above 99999999 by a fraction"
    );
    let most = format!(
        "{METER}[plans.p]\nmonthly = 99999999\n[plans.p.meters.calls]\nprice = {{ unit_amount_decimal = \"0.000000000001\" }}\n"
    );
    Catalog::parse(&most, "billing.toml").unwrap();
}
