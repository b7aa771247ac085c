//! The catalog: plans, features, meters, prices and credit packs declared in `billing.toml`,
//! validated at start into core types. Any mistake stops the server with one message naming the
//! file, the field and the fix. Money is integers (minor units) or decimal strings; a float in a
//! price is refused rather than rounded.

mod credits;
mod error;
mod gateway;
mod meter;
mod plan;
mod price;
mod schema;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::core::Currency;
use crate::core::credit::CreditPack;
use crate::core::plan::{Feature, Plan};

pub use error::CatalogError;
pub use gateway::{Gateway, GatewayTool, Pricing, Unlisted};

pub use crate::core::usage::Aggregation;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub id: String,
    pub event_name: String,
    pub aggregation: Aggregation,
    pub dimensions: Vec<String>,
    /// The dimension whose distinct values a `unique` meter counts.
    pub unique: Option<String>,
    /// The dimension whose values plans price apart (`dimension_prices`); `tool` by default.
    pub price_dimension: String,
    pub description: Option<String>,
}

impl Meter {
    /// The value of the priced dimension in an event's dimensions.
    pub fn priced_value<'a>(&self, dimensions: &'a BTreeMap<String, String>) -> Option<&'a str> {
        dimensions.get(&self.price_dimension).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Credits {
    /// Credits one unit of any tool costs unless `tool_costs` says otherwise.
    pub default_cost: u64,
    pub tool_costs: BTreeMap<String, u64>,
    pub packs: BTreeMap<String, CreditPack>,
}

impl Credits {
    pub fn cost_of(&self, tool: Option<&str>) -> u64 {
        tool.and_then(|t| self.tool_costs.get(t))
            .copied()
            .unwrap_or(self.default_cost)
    }
}

/// The validated catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub currency: Currency,
    pub default_plan: Option<String>,
    pub meters: BTreeMap<String, Meter>,
    pub features: BTreeMap<String, Feature>,
    pub plans: BTreeMap<String, Plan>,
    pub credits: Credits,
    /// What upstream tool calls cost through `billing-mcp gateway`.
    pub gateway: Gateway,
}

impl Catalog {
    /// Each meter's aggregation (what the invoice preview needs).
    pub fn aggregations(&self) -> BTreeMap<String, Aggregation> {
        self.meters
            .iter()
            .map(|(id, m)| (id.clone(), m.aggregation))
            .collect()
    }

    /// An empty catalog (no plans): every entitlement answers `feature_not_in_plan`.
    pub fn empty() -> Catalog {
        Catalog {
            currency: Currency::USD,
            default_plan: None,
            meters: BTreeMap::new(),
            features: BTreeMap::new(),
            plans: BTreeMap::new(),
            credits: Credits {
                default_cost: 1,
                ..Credits::default()
            },
            gateway: Gateway::default(),
        }
    }

    /// Read and validate a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::unreadable(path, &e))?;
        Catalog::parse(&text, &path.display().to_string())
    }

    /// Validate catalog text; `file` names it in errors.
    /// A file with no plans is refused: a catalog that sells nothing is a mistake (a server
    /// started without `--catalog` and without `billing.toml` runs with [`Catalog::empty`]).
    pub fn parse(text: &str, file: &str) -> Result<Catalog, CatalogError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let document = toml::Deserializer::parse(text)
            .map_err(|e| CatalogError::from_toml(file, text, &e, None))?;
        let raw: schema::CatalogFile = serde_path_to_error::deserialize(document).map_err(|e| {
            let path = e.path().to_string();
            CatalogError::from_toml(file, text, e.inner(), Some(path))
        })?;
        let catalog = validate::build(raw, file)?;
        if catalog.plans.is_empty() {
            return Err(CatalogError {
                file: file.into(),
                field: "plans".into(),
                problem: "the catalog defines no plans".into(),
                fix: "add a [plans.<id>] table (examples/billing.toml shows every field), or start without --catalog and without a billing.toml to run with an empty catalog".into(),
            });
        }
        Ok(catalog)
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.get(id)
    }

    /// A feature by id; a meter id also works as a metered feature of the same name.
    pub fn feature(&self, id: &str) -> Option<Feature> {
        self.features.get(id).cloned().or_else(|| {
            self.meters.contains_key(id).then(|| Feature {
                id: id.to_string(),
                meter: Some(id.to_string()),
                description: None,
            })
        })
    }
}
